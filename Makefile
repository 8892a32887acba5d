# ssehub: `make test` installs what the tests need and runs every test.
GO       ?= go
FUZZTIME ?= 15s
PKGS     := ./...
# staticcheck, pinned; `go run` fetches it through the module proxy like any dependency.
STATICCHECK ?= $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: all build run test deps lint cross unit fuzz bench screenshot clean

all: build

build:
	$(GO) build -o ssehub ./cmd/ssehub

run:
	$(GO) run ./cmd/ssehub

## test: everything CI runs: deps, gofmt, vet, staticcheck, cross-system builds, unit + integration + browser tests (race), bounded fuzzing.
test: deps lint cross unit fuzz

deps:
	./scripts/deps.sh

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(STATICCHECK) $(PKGS)

## cross: the code builds and vets for the other systems users run: Windows and
## macOS developers' machines, arm64 servers, the BSDs.
CROSS := windows/amd64 darwin/arm64 linux/arm64 freebsd/amd64
cross:
	@for t in $(CROSS); do \
	  echo "build and vet for $$t"; \
	  GOOS=$${t%/*} GOARCH=$${t#*/} CGO_ENABLED=0 $(GO) build -o /dev/null $(PKGS) || exit 1; \
	  GOOS=$${t%/*} GOARCH=$${t#*/} CGO_ENABLED=0 $(GO) vet $(PKGS) || exit 1; \
	done

## unit: every package's tests; then the stream path of macOS, Windows and the BSDs
## (no writes that never wait, a reader goroutine per stream), built on Linux with -tags portable.
unit:
	$(GO) test -race -count=1 -timeout 10m $(PKGS)
	$(GO) test -race -count=1 -timeout 5m -tags portable ./internal/stream/ ./internal/httpapi/ ./internal/app/

## fuzz: each fuzz target for FUZZTIME (bounded, so CI stays fast); see scripts/fuzz.sh.
fuzz:
	GO=$(GO) FUZZTIME=$(FUZZTIME) ./scripts/fuzz.sh

## bench: Go benchmarks (figures go to docs/benchmarks.md).
bench:
	$(GO) test -run='^$$' -bench=. -benchmem $(PKGS)

## screenshot: refresh docs/console.png with a real browser.
screenshot:
	SSEHUB_SCREENSHOT=$(CURDIR)/docs/console.png $(GO) test -count=1 -run TestConsoleScreenshot ./e2e/

clean:
	rm -f ssehub
