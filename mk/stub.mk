# The stub round trip (issue 6): a C and assembly stub, built against the generated
# headers, shares a region with the generated Python parsers on amd64 and arm64 (qemu);
# since issue 20 the region holds a context queue that Python fills and the stub drains.
# The compiler command lives in tests/stub_roundtrip.py, so make and pytest build alike.

STUB_DIR := build/stub
STUB_ARCHS := amd64 arm64
STUB_TOOL := tests/stub_roundtrip.py
STUB_BINS := $(foreach arch,$(STUB_ARCHS),$(STUB_DIR)/$(arch)/stub)

.PHONY: stub stub-test

stub: $(STAMP) toolchains $(STUB_BINS)

$(STUB_DIR)/%/stub: stub/stub.c stub/handler_%.S $(OUT)/c/sysmsg.h $(OUT)/c/sysmsg_offsets.h $(STUB_TOOL) | $(STAMP) toolchains
	$(PY) $(STUB_TOOL) build --arch $* --include $(OUT)/c --out $@

stub-test: $(STAMP) toolchains stub
	$(PY) $(STUB_TOOL) run --build $(STUB_DIR)

test: stub-test
