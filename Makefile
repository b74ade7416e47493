# Sesame — common tasks. `make dev` runs everything locally; `make test` runs the tests.
GO       ?= go
BIN      := bin
PKGS     := ./...
export TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable

.PHONY: build dev test test-short e2e bench lint fmt clean

build: ## build bin/api, bin/smsworker, bin/emailworker
	$(GO) build -o $(BIN)/ ./cmd/...

dev: build ## run the whole system in one process (embedded NATS, console delivery)
	./$(BIN)/api -dev

test: ## all Go tests with the race detector (needs Postgres, see README)
	$(GO) test -race -count=1 $(PKGS)

e2e: build ## three real processes + nats-server + fake providers: seed curls and the Stytch SDK suite
	bash test/e2e/run.sh

bench: ## benchmarks (ratios to the primitives are printed by the benchmarks themselves)
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

lint: ## gofmt, go vet, staticcheck (if it installs)
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	@if $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 -version >/dev/null 2>&1; then \
		$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 $(PKGS); \
	else echo "staticcheck unavailable; skipped"; fi

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf $(BIN) .dev
