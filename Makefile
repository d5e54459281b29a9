# callsop: the two set-up commands are `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck unit bench clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "callsop needs Python 3.11"'
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

## demo: install, then score the example calls and print the scorecards
demo: $(STAMP)
	$(BIN)/callsop score examples/calls/*.json

## test: install everything the tests need, lint, type-check and run the suite
test: lint typecheck unit

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest

## bench: the speed benchmark (not part of the suite)
bench: $(STAMP)
	$(BIN)/python benchmarks/score_bench.py

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info
