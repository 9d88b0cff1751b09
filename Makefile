# conveyor.cicd — every target bootstraps what it needs first and is safe to run again.
SHELL := /bin/bash
VENV ?= .venv
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg

.PHONY: pipeline test lint sanity unit integration molecule e2e bench bootstrap build-collection stop clean

## pipeline: run the pipeline on the bundled sample app with the embedded defaults
pipeline:
	@scripts/bootstrap.sh runtime
	ansible-playbook pipeline.yml

## test: the whole test suite (what CI runs)
test:
	@scripts/bootstrap.sh test
	@scripts/test.sh all

lint unit integration molecule e2e sanity:
	@scripts/bootstrap.sh test
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

## stop: stop the apps and monitoring servers that `make pipeline` left running (pid files under .state)
stop:
	@find .state -name '*.pid' -type f 2>/dev/null | while read -r f; do kill "$$(cat "$$f")" 2>/dev/null || true; done

clean: stop
	rm -rf .cache .state tests/output .pytest_cache .ruff_cache
