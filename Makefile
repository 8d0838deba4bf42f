# The two commands a new user needs: `make run` and `make test`.
# Each creates .venv when missing and installs the project into it first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench proto clean system-packages

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/imagescaler up

system-packages:
	scripts/install_system_packages.sh

test: $(STAMP) system-packages lint
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(STAMP)
	$(BIN)/imagescaler bench

proto: $(STAMP)
	$(BIN)/python scripts/generate_stubs.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
