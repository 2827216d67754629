# gwtap — build, test and run the SAM application locally.
# `make help` lists the targets.

SHELL := /bin/bash
GO ?= go
ARCH ?= arm64
GOARCH_arm64 := arm64
GOARCH_x86_64 := amd64
GOARCH := $(GOARCH_$(ARCH))
BIN := $(CURDIR)/bin
FUNCTIONS := $(notdir $(wildcard functions/*))
LAMBDA_FLAGS := -trimpath -ldflags '-s -w' -tags lambda.norpc
GOLANGCI_LINT_VERSION := v2.15.0
GOLANGCI_LINT := $(BIN)/golangci-lint
FUZZTIME ?= 10s
FUZZ_LONG ?= 5m

.PHONY: help build $(addprefix build-,$(FUNCTIONS)) test lint vet unit soak fuzz-short fuzz bench demo events tools node_modules clean

help: ## list targets
	@grep -E '^[a-zA-Z_%-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | sort

ifeq ($(GOARCH),)
$(error ARCH must be arm64 or x86_64, not $(ARCH))
endif

build: ## build every function's bootstrap for ARCH (arm64 | x86_64) into bin/ARCH/NAME/
	@for f in $(FUNCTIONS); do \
		echo "building $$f ($(ARCH))"; \
		CGO_ENABLED=0 GOOS=linux GOARCH=$(GOARCH) $(GO) build $(LAMBDA_FLAGS) -o $(BIN)/$(ARCH)/$$f/bootstrap ./functions/$$f || exit 1; \
	done

# Targets `sam build` calls for functions with `BuildMethod: makefile`: each
# writes $(ARTIFACTS_DIR)/bootstrap.
build-IngestFunction:
	$(call lambda,ingest)

build-ForwardFunction:
	$(call lambda,forward)

build-ReplayFunction:
	$(call lambda,replay)

define lambda
	@test -n "$(ARTIFACTS_DIR)" || { echo "ARTIFACTS_DIR is not set (sam build sets it)"; exit 1; }
	CGO_ENABLED=0 GOOS=linux GOARCH=$(GOARCH) $(GO) build $(LAMBDA_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/$(1)
endef

gwtap: ## build the CLI for this machine into bin/gwtap
	$(GO) build -o $(BIN)/gwtap ./cmd/gwtap

node_modules: package-lock.json ## install the local AWS stand-ins from the lockfile
	npm ci --no-audit --no-fund
	@touch node_modules

$(GOLANGCI_LINT):
	GOBIN=$(BIN) $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)

tools: node_modules $(GOLANGCI_LINT) ## install everything the tests need

lint: $(GOLANGCI_LINT) ## gofmt + golangci-lint
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
		if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GOLANGCI_LINT) run --allow-parallel-runners ./...

vet:
	$(GO) vet ./...

unit: node_modules ## unit and integration tests (integration ones start their own stand-ins)
	$(GO) test -count=1 ./...

soak: node_modules ## the fault suite's long form: more records, longer outages (internal/faults)
	$(GO) test -run . -count=1 -timeout 60m -v ./internal/faults/ -args -soak

# A fuzz run that fails without writing a failing input is the fuzzer's own
# shutdown stumbling on a loaded machine (seen here at the end of -fuzztime),
# not a finding: it is run once more. A real finding always fails the build.
fuzz-short: ## run every fuzz target for FUZZTIME each
	@set -e; for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
			echo "fuzz $$pkg $$f"; \
			log=$$(mktemp); \
			if ! $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 5s $$pkg > $$log 2>&1; then \
				if grep -q 'Failing input written' $$log; then tail -n 40 $$log; rm -f $$log; exit 1; fi; \
				echo "  the fuzzer stopped without a finding (no failing input written); running $$f once more"; \
				if ! $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 5s $$pkg > $$log 2>&1; then \
					tail -n 40 $$log; rm -f $$log; exit 1; \
				fi; \
			fi; rm -f $$log; \
		done; \
	done

fuzz: ## run every fuzz target for FUZZ_LONG each
	$(MAKE) fuzz-short FUZZTIME=$(FUZZ_LONG)

test: lint vet unit fuzz-short build ## everything CI runs
	$(MAKE) build ARCH=x86_64

BENCHTIME ?= 1s
bench: ## benchmarks, then one table of figures, ratios and targets (bench/report.md, bench/report.json)
	@mkdir -p bench
	@# GWTAP_BENCH_RECORDS (environment or make command line) sizes BenchmarkPipeline's corpus.
	set -o pipefail; GWTAP_BENCH_RECORDS=$${GWTAP_BENCH_RECORDS:-1000000} \
		$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) -count 1 -timeout 60m ./... | tee bench/latest.txt
	$(GO) run ./cmd/benchreport -md bench/report.md -json bench/report.json < bench/latest.txt

events: ## regenerate events/*.json from events/raw/ (reproducible; a test checks they match)
	$(GO) run ./cmd/gwtap events -from-dir events/raw -out events
	$(GO) run ./cmd/gwtap events -control -out events/cloudwatch-control-message.json
	$(GO) run ./cmd/gwtap events -synthetic 1900 -seed 7 -out events/cloudwatch-large-batch.json

demo: node_modules ## run the whole pipeline locally on events/ (local SQS, ingest, forward, node) and print the inventory
	$(GO) run ./cmd/gwtap local --once

clean:
	rm -rf $(BIN) .aws-sam

.PHONY: eval-discovery
eval-discovery: ## API discovery against public API route lists: precision, recall, F1 (seed 1, then 20 seeds)
	$(GO) run ./cmd/evaldiscovery -routes internal/discovery/testdata/routes -seeds 20 -v
