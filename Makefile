# ComputeHub: `make run` and `make test` work on a fresh clone (see README.md).
# Dependencies install from the hashed lock files in requirements/ (pip --require-hashes), then the
# project itself without dependencies; `make lock` regenerates the locks from pyproject.toml.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
RUNTIME_LOCK := requirements/runtime.lock
TEST_LOCK := requirements/test.lock
# uv and pip-audit live in their own venv, so they never change the app's locked packages.
TOOLS := .venv-tools
# One resolution for every platform (the Docker image too), for the Python the project targets.
UV_COMPILE = $(TOOLS)/bin/uv pip compile pyproject.toml --generate-hashes --universal --python-version 3.11 \
	--no-header --quiet $(if $(UPGRADE),--upgrade)

.PHONY: run test test-sqlite bench install install-test worker migrate lock audit clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(TOOLS)/bin/python:
	$(PYTHON) -m venv $(TOOLS)

# Re-run whenever a lock (or pyproject.toml) changes; the test lock is a superset of the runtime one.
$(STAMP): $(RUNTIME_LOCK) pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r $(RUNTIME_LOCK)
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

$(TEST_STAMP): $(TEST_LOCK) pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r $(TEST_LOCK)
	$(BIN)/pip install --quiet --no-deps -e .
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

# Regenerate both locks from pyproject.toml, keeping current pins; `make lock UPGRADE=1` moves
# every pin to the newest release allowed. Commit the two files.
lock: | $(TOOLS)/bin/python
	$(TOOLS)/bin/pip install --quiet uv
	$(UV_COMPILE) -o $(RUNTIME_LOCK)
	$(UV_COMPILE) --extra test -o $(TEST_LOCK)

# pip-audit over both locks; exits non-zero and says so when the vulnerability index cannot answer.
audit: | $(TOOLS)/bin/python
	$(TOOLS)/bin/pip install --quiet pip-audit
	$(TOOLS)/bin/python scripts/audit_locks.py $(RUNTIME_LOCK) $(TEST_LOCK)

clean:
	rm -rf $(VENV) $(TOOLS) var build *.egg-info
