# conveyor.cicd — every target bootstraps what it needs first and is safe to run again.
SHELL := /bin/bash
VENV ?= .venv
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg

.PHONY: pipeline test lint galaxy sanity unit integration molecule e2e matrix bench bootstrap build-collection stop clean

## pipeline: run the pipeline on the bundled sample app with the embedded defaults
pipeline:
	@scripts/bootstrap.sh runtime
	ansible-playbook pipeline.yml

## test: the whole test suite on every supported ansible-core (what CI runs)
test:
	@scripts/bootstrap.sh test
	@scripts/bootstrap.sh matrix
	@scripts/test.sh all

## lint ... e2e: one stage on the default ansible-core
lint galaxy unit integration molecule e2e sanity:
	@scripts/bootstrap.sh test
	@scripts/test.sh $@

## matrix: the sanity, integration and pipeline stages on each other supported ansible-core
##   (one stage: make sanity-2.21, make integration-2.20, make pipeline-2.21)
matrix:
	@scripts/bootstrap.sh test
	@scripts/bootstrap.sh matrix
	@scripts/test.sh matrix

sanity-% integration-% pipeline-%:
	@scripts/bootstrap.sh test
	@scripts/bootstrap.sh matrix $*
	@scripts/test.sh $@

## bench: the benchmarks in benchmarks/ (not part of the test suite)
bench:
	@scripts/bootstrap.sh bench
	python benchmarks/run.py $(BENCH)

bootstrap:
	@scripts/bootstrap.sh test

build-collection:
	@scripts/bootstrap.sh runtime
	ansible-galaxy collection build --force --output-path .cache/dist

## stop: stop the apps and monitoring servers that `make pipeline` left running (pid files under the state
##   directory: .state, or STATE_DIR / $CONVEYOR_STATE_DIR when the pipeline ran with another conveyor_state_dir)
STATE_DIR ?= $(or $(CONVEYOR_STATE_DIR),.state)
stop:
	@find "$(STATE_DIR)" -name '*.pid' -type f 2>/dev/null | while read -r f; do kill "$$(cat "$$f")" 2>/dev/null || true; done

clean: stop
	rm -rf .cache .state tests/output .pytest_cache .ruff_cache
