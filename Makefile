# ComputeHub: `make run` and `make test` work on a fresh clone (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: run test test-sqlite bench install install-test worker migrate clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@ $(STAMP)

install: $(STAMP)
install-test: $(TEST_STAMP)

migrate: install
	$(BIN)/computehub db upgrade

run: install
	$(BIN)/computehub run

worker: install
	$(BIN)/computehub worker

test: install-test
	$(BIN)/python -m pytest

bench: install-test
	$(BIN)/python -m tests.benchmarks

clean:
	rm -rf $(VENV) var build *.egg-info
