# DbProvisioner: `make run` starts the appliance with a working local host, `make test` passes
# every test. Both set up this machine first (packages, Docker engine, images, loop disks, meta DB).
SHELL := /bin/bash
.DEFAULT_GOAL := help

export DOCKER_API_VERSION := 1.41
export TESTCONTAINERS_RYUK_DISABLED := true
export TESTCONTAINERS_HOST_OVERRIDE := 127.0.0.1
export DOTNET_CLI_TELEMETRY_OPTOUT := 1
export DOTNET_NOLOGO := 1
export DOTNET_SKIP_FIRST_TIME_EXPERIENCE := 1

CONFIG ?= Release

.PHONY: help setup build run test bench clean

help: ## show the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-7s %s\n", $$1, $$2}'

setup: ## install and start what the appliance needs: packages, dockerd, images, loop disks, meta DB
	@bash hack/setup.sh

build: ## build the solution
	dotnet build DbProvisioner.sln -c $(CONFIG) --nologo -v minimal

run: setup build ## set up, then start the appliance on http://127.0.0.1:8080 with host `local` (FLEET=N: and node-1 … node-N; SILOS=N: N silos behind HAProxy)
	@FLEET="$(FLEET)" SILOS="$(SILOS)" bash hack/run.sh

test: setup build ## set up, then run every test (real engine, real meta DB); ends with "tests: N passed, M failed"
	@bash hack/test.sh

bench: setup ## run the benchmarks; writes artifacts/bench/results.json
	dotnet run -c Release --project tests/DbProvisioner.Benchmarks -- $(BENCH)

clean: ## remove what the appliance made on this machine (containers, volumes, loop disks, meta DB, build output)
	@bash hack/clean.sh
	rm -rf artifacts
