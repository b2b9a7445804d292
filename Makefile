# chekd build, test and install.
GO          ?= go
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS     := -s -w -X github.com/chekd/chekd/daemon/cli.Version=$(VERSION)
BIN         := $(CURDIR)/bin
STATICCHECK_VERSION := v0.8.2
FUZZTIME    ?= 3s
PREFIX      ?= /usr/local
DESTDIR     ?=

.PHONY: all build test vet fmt-check staticcheck unit browser-check fuzz-short fuzz bench demo chaos install clean

all: build

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/chekd ./cmd/chekd

test: vet fmt-check staticcheck unit browser-check fuzz-short

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

$(BIN)/staticcheck:
	GOBIN=$(BIN) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

staticcheck: $(BIN)/staticcheck
	$(BIN)/staticcheck ./...

unit:
	$(GO) test -race -count=1 ./...

# go test hides a passing package's output: say loudly whether the status
# page was checked in a real browser.
browser-check:
	@$(GO) test -count=1 -run '^TestBrowser$$' -v ./daemon/status/ 2>&1 | grep -E 'SKIPPED|^(--- |ok|FAIL)' | sort -u

# Every Fuzz target in the module, FUZZTIME each (go test runs one fuzz target at a time).
fuzz-short:
	@FUZZTIME=$(FUZZTIME) GO=$(GO) sh .ci/fuzz.sh

fuzz:
	@FUZZTIME=60s GO=$(GO) sh .ci/fuzz.sh

# Packages with Go benchmarks; chekd-bench adds the end-to-end figures and
# writes the whole table, with the machine, to docs/benchmarks.md.
BENCH_PKGS   = $(shell grep -rl --include='*_test.go' '^func Benchmark' . | xargs -n1 dirname | sort -u)
BENCH_GOTEST = $(GO) test -run '^$$' -bench . -benchmem -count=1 $(BENCH_PKGS)

bench: build
	$(BENCH_GOTEST) | tee $(BIN)/gobench.txt
	$(GO) run ./cmd/chekd-bench -chekd $(BIN)/chekd -gobench $(BIN)/gobench.txt -gobench-cmd "$(BENCH_GOTEST)" -out docs/benchmarks.md

demo: build
	$(BIN)/chekd demo

# kill -9 and fault chaos: at least 1000 orders in 3 shops, 100 SIGKILLs of a
# production build of chekd; pass more flags with CHAOSFLAGS='-seed N -keep'.
chaos: build
	$(GO) build -o $(BIN)/chekd-fakes ./cmd/chekd-fakes
	$(GO) build -o $(BIN)/chekd-chaos ./cmd/chekd-chaos
	$(BIN)/chekd-chaos -chekd $(BIN)/chekd -fakes $(BIN)/chekd-fakes -orders 1000 -shops 3 -kills 100 $(CHAOSFLAGS)

install: build
	install -D -m 0755 $(BIN)/chekd $(DESTDIR)$(PREFIX)/bin/chekd
	install -D -m 0644 systemd/chekd.service $(DESTDIR)/etc/systemd/system/chekd.service
	# The unit runs as a dynamic user: the config must be readable by it, so
	# secrets go to /etc/chekd/credentials (passed in by LoadCredential=).
	install -d -m 0755 $(DESTDIR)/etc/chekd
	install -d -m 0700 $(DESTDIR)/etc/chekd/credentials
	test -e $(DESTDIR)/etc/chekd/config.yaml || install -m 0644 config.example.yaml $(DESTDIR)/etc/chekd/config.yaml

clean:
	rm -rf $(BIN)
