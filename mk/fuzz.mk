# Differential fuzzing of the layout engine (issue 8): `make fuzz` runs the long soak, random
# specs checked against gcc, aarch64 gcc, the Python parsers and Go (amd64, and arm64 under
# qemu). CI runs a short, derandomized sample of the same checks in tests/test_fuzz_layout.py.
# FUZZ_STRUCTS is per worker (one Go-compatible, one with packed/aligned structs);
# FUZZ_ARGS passes more options, e.g. FUZZ_ARGS="--seed 1234" to repeat a soak.

FUZZ_STRUCTS ?= 20000
FUZZ_ARGS ?=

.PHONY: fuzz

fuzz: $(STAMP) toolchains
	$(PY) tests/fuzz/soak.py --structs $(FUZZ_STRUCTS) $(FUZZ_ARGS)
