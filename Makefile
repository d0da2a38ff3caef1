# Omnicanal — the two commands of the README, and a few more.
#   make demo   the demo retailer on http://127.0.0.1:8000 (creates .venv and installs on first use)
#   make test   ruff, mypy, pytest on SQLite — and again on PostgreSQL when OMNICANAL_TEST_DATABASE_URL is set
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-omnicanal
PYTHON ?= $(shell command -v python3.11 || command -v python3)
DEMO_ARGS ?=
BENCH_ARGS ?=

.PHONY: demo test lint bench migrate serve migration lock clean

demo: $(STAMP)
	$(BIN)/omnicanal demo $(DEMO_ARGS)

# Every step runs even when an earlier one fails (a CI log shows them all); any failure fails the target.
test: $(STAMP)
	@status=0; \
	echo "== ruff"; $(BIN)/ruff check src tests bench || status=1; \
	echo "== mypy"; $(BIN)/mypy || status=1; \
	echo "== pytest on SQLite"; env -u OMNICANAL_TEST_DATABASE_URL $(BIN)/pytest || status=1; \
	if [ -n "$$OMNICANAL_TEST_DATABASE_URL" ]; then \
		echo "== pytest on PostgreSQL ($$OMNICANAL_TEST_DATABASE_URL)"; \
		$(BIN)/pytest || status=1; \
	fi; \
	exit $$status

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/omnicanal bench $(BENCH_ARGS)

migrate: $(STAMP)
	$(BIN)/omnicanal migrate

serve: $(STAMP)
	$(BIN)/omnicanal serve

# make migration m="add loyalty tier" — autogenerate a migration from the models (check it by hand)
migration: $(STAMP)
	@test -n "$(m)" || { echo 'usage: make migration m="what changed"'; exit 2; }
	$(BIN)/omnicanal new-migration "$(m)"

# pyproject.toml's ranges, each pinned to the release constraints.txt names (the set `make test` last passed with):
# a fresh machine installs what CI checked, not what was published since. Reinstalls only when either file changed.
$(STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install --disable-pip-version-check -c constraints.txt -e '.[dev]'
	@touch $@

# make lock — pyproject.toml's ranges resolved afresh to the newest releases, written to constraints.txt; then run
# make test (it reinstalls) and commit both if it passes.
LOCK_VENV := .venv-lock
lock:
	@test -n "$(PYTHON)" || { echo "Python 3.11 or newer is needed"; exit 1; }
	rm -rf $(LOCK_VENV)
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install --disable-pip-version-check -q -e '.[dev]'
	{ echo "# Written by make lock: every package make demo and make test install, at the version last checked"; \
	  echo "# together. pip install -c constraints.txt -e '.[dev]' (the Makefile does it)."; \
	  $(LOCK_VENV)/bin/python -m pip freeze --exclude-editable; } > constraints.txt.new
	mv constraints.txt.new constraints.txt
	rm -rf $(LOCK_VENV)

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "Python 3.11 or newer is needed: apt-get install -y python3 python3-venv"; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python 3.11 or newer is needed; $(PYTHON) is older."; exit 1; }
	@$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
		echo "Could not create $(VENV): this Python lacks venv/ensurepip."; \
		echo "On Debian or Ubuntu: apt-get install -y python3-venv   (then run make again)"; exit 1; }

clean:
	rm -rf $(VENV) $(LOCK_VENV) build dist src/*.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis
	find . -name __pycache__ -type d -prune -not -path './.git/*' -exec rm -rf {} +
	@echo "The database (omnicanal.db) is kept; delete it yourself to start the demo afresh."
