# layoutgen: `make generate` regenerates every output of every spec layoutgen.toml lists; `make test` proves them.
# Both bootstrap what they need on first use (.venv for Python; Debian toolchains for tests).

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# spec/sysmsg.yaml's output folder (as layoutgen.toml says), which mk/go.mk and mk/stub.mk build on.
OUT ?= generated

.PHONY: all generate test check toolchains pytest lint-diff lock clean

all: generate

# Python packages come only from the hashed lock (`make lock` rewrites it), so CI runs exactly
# what was reviewed: --require-hashes refuses any file whose sha256 the lock does not list, and
# --only-binary keeps an sdist's build (which would fetch its build tools unpinned) out.
# The project itself goes in editable with no index, no dependencies and no isolated build:
# its backend, setuptools, is in the lock. --clear drops packages the lock no longer names.
LOCK := requirements.lock
PIP_INSTALL := $(PY) -m pip install -q --disable-pip-version-check

$(STAMP): $(LOCK) pyproject.toml
	$(PYTHON) -m venv --clear $(VENV)
	$(PIP_INSTALL) --require-hashes --only-binary :all: -r $(LOCK)
	$(PIP_INSTALL) --no-index --no-deps --no-build-isolation --check-build-dependencies -e .
	touch $@

# Regenerates $(LOCK) from pyproject.toml (pip-tools in a throwaway venv; needs PyPI).
lock:
	PYTHON=$(PYTHON) scripts/lock.sh $(LOCK)

toolchains:
	@scripts/bootstrap-toolchains.sh

# Both read layoutgen.toml: spec/sysmsg.yaml -> generated/, examples/linux/*.yaml -> examples/linux/generated/.
generate: $(STAMP)
	$(PY) -m codegen generate

# The suite runs on every core (pytest-xdist): most of its time is compilers and child
# interpreters, and each test works in its own temporary folder.
pytest: $(STAMP) toolchains
	$(PY) -m pytest -q -n auto

check: $(STAMP) toolchains
	$(PY) -m codegen check
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
