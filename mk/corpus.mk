# The corpus of real Linux structs (examples/linux/*.yaml): layout asserts compiled against
# glibc's and the kernel's headers for x86_64 and aarch64, DWARF, Go and Python parsers.
# `make test` already runs it as part of pytest; this target runs it alone.

.PHONY: corpus

corpus: $(STAMP) toolchains
	$(PY) -m pytest -q tests/test_linux_corpus.py
