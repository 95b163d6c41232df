# The Go target (issue 4): the generated package must be gofmt-clean and vet-clean, and its
# layout tests must pass natively and for arm64 under qemu-user. These are the commands that
# `layoutgen check` runs too (codegen/check/go.py); here they print Go's own output.

GO_PKG ?= $(OUT)/go/sysmsg
# No dependencies, so no network; and the caller's GOFLAGS (say -mod=vendor) do not apply.
GO_ENV := GOPROXY=off GOFLAGS= GO111MODULE=on

.PHONY: go-test

go-test: $(STAMP) toolchains
	@unformatted="$$(cd $(GO_PKG) && gofmt -l .)"; \
	if [ -n "$$unformatted" ]; then echo "gofmt -l: not formatted: $$unformatted" >&2; exit 1; fi
	cd $(GO_PKG) && $(GO_ENV) go vet ./...
	cd $(GO_PKG) && $(GO_ENV) go test -count=1 ./...
	cd $(GO_PKG) && $(GO_ENV) GOARCH=arm64 go vet ./...
	cd $(GO_PKG) && $(GO_ENV) GOARCH=arm64 go test -count=1 -exec qemu-aarch64 ./...

test: go-test
