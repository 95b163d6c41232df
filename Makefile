# layoutgen: `make generate` regenerates every output from the spec; `make test` proves them.
# Both bootstrap what they need on first use (.venv for Python; Debian toolchains for tests).

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
SPEC ?= spec/sysmsg.yaml
OUT ?= generated

.PHONY: all generate test check toolchains pytest lint-diff clean

all: generate

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -e '.[test]'
	touch $@

toolchains:
	@scripts/bootstrap-toolchains.sh

generate: $(STAMP)
	$(PY) -m codegen generate --spec $(SPEC) --out $(OUT)

pytest: $(STAMP) toolchains
	$(PY) -m pytest -q

check: $(STAMP) toolchains
	$(PY) -m codegen check --spec $(SPEC) --out $(OUT)
	$(PY) -m codegen lint-ifchange --strict

# Diff mode of the IfChange checker over the newest commit (skipped only when there is none).
lint-diff: $(STAMP)
	@if git rev-parse -q --verify HEAD~1 >/dev/null; then \
	  $(PY) -m codegen lint-ifchange --base HEAD~1; \
	else echo "lint-diff: no parent commit to compare with"; fi

test: check lint-diff pytest

# Each concern adds its own rules (and extends TEST_STEPS) in mk/<concern>.mk.
-include mk/*.mk

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
