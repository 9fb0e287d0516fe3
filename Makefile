# paylinks — the targets a newcomer needs. `make help` lists them.
.DEFAULT_GOAL := help
GO ?= go
ADDR ?= 127.0.0.1:8080

.PHONY: help run build install test generate check-generated lint bench bench-wrk bench-load fuzz

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

run: ## Run the proxy on the embedded sandboxes (zero configuration)
	$(GO) run ./cmd/paylinks serve --addr $(ADDR)

# A static binary: every dependency is pure Go (SQLite included), and without cgo the binary needs
# no C library where it runs; with cgo, the standard library's net and os/user would link it against
# the C library. -buildmode=exe, since a GOFLAGS of -buildmode=pie would make it dynamic again.
BIN ?= paylinks
STATIC := CGO_ENABLED=0
STATIC_FLAGS := -trimpath -buildmode=exe

build: ## Build a static binary, ./paylinks (BIN=path to put it elsewhere)
	$(STATIC) $(GO) build $(STATIC_FLAGS) -o $(BIN) ./cmd/paylinks

install: ## Install a static paylinks in GOBIN (default: GOPATH/bin)
	$(STATIC) $(GO) install $(STATIC_FLAGS) ./cmd/paylinks

test: ## Run every test with the race detector
	$(GO) test -race -count=1 -timeout 30m ./...

generate: ## Regenerate gen/ from the specs in openapi/
	$(GO) generate ./...

check-generated: generate ## Regenerate and fail if gen/ differs from what is committed
	@git diff --exit-code --stat -- gen/ || { echo "gen/ is stale: run make generate and commit" >&2; exit 1; }
	@test -z "$$(git status --porcelain -- gen/)" || { git status --porcelain -- gen/; echo "untracked files in gen/" >&2; exit 1; }

lint: ## gofmt, go vet, staticcheck and errorlint (versions pinned in go.mod via tools.go)
	@out=$$(gofmt -l $$(git ls-files '*.go') $$(git ls-files --others --exclude-standard '*.go')); test -z "$$out" || { echo "gofmt needed:"; echo "$$out"; exit 1; }
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck ./...
	$(GO) run codeberg.org/polyfloyd/go-errorlint ./...

bench: ## Go benchmarks (validation, mapping, routing) and the load comparison in bench/ (DURATION=10s)
	$(GO) test -run '^$$' -bench . -benchmem ./impl/...
	$(GO) run ./bench/load -duration $(or $(DURATION),10s) -conns 16

bench-wrk: ## The load comparison in bench/ driven by wrk (-t2 -c16; apt-get install wrk), RUNS=3 DURATION=10s
	$(GO) run ./bench/load -driver wrk -duration $(or $(DURATION),10s) -conns 16 -runs $(or $(RUNS),3)

bench-load: ## The load comparison with both drivers (Go, then wrk) in each run, RUNS=3 DURATION=10s
	$(GO) run ./bench/load -driver both -duration $(or $(DURATION),10s) -conns 16 -runs $(or $(RUNS),3)

FUZZTIME ?= 10s
# Go 1.26's fuzzing coordinator can report its own stop at the end of -fuzztime as a failure,
# "context deadline exceeded" with no failing input written (golang/go#75804, fixed in Go 1.27):
# such a run is run once more; a failing input, or a second failure, fails.
fuzz: ## Run every fuzzer for FUZZTIME each (default 10s); the seed corpus runs in make test anyway
	@out=$$(mktemp); trap 'rm -f $$out' EXIT; \
	for pkg in $$($(GO) list ./impl/...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 2s $$pkg >$$out 2>&1; rc=$$?; cat $$out; \
	    if [ $$rc -ne 0 ]; then \
	      if grep -q 'Failing input written' $$out || ! grep -qx '    context deadline exceeded' $$out; then exit 1; fi; \
	      echo "== $$f: the coordinator's stop reported as a failure, no failing input (golang/go#75804): once more"; \
	      $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 2s $$pkg || exit 1; \
	    fi; \
	  done; \
	done
