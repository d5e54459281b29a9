# callsop: the two set-up commands are `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# The real SIP parts the telephony tests call, from Debian (as root, or with sudo).
DEBIAN_PACKAGES := kamailio kamailio-utils-modules sip-tester
AS_ROOT := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test lint typecheck unit bench clean system-packages

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

unit: $(STAMP) system-packages
	$(BIN)/pytest

system-packages:
	@command -v kamailio >/dev/null && command -v sipp >/dev/null \
	  && ls /usr/lib/*/kamailio/modules/siptrace.so >/dev/null 2>&1 \
	  || { $(AS_ROOT) apt-get update -qq \
	       && DEBIAN_FRONTEND=noninteractive $(AS_ROOT) apt-get install -y -qq $(DEBIAN_PACKAGES); }

## bench: the speed benchmark (not part of the suite)
bench: $(STAMP)
	$(BIN)/python benchmarks/score_bench.py

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info
