# The project's verbs. `make help` lists them.
SHELL := /bin/bash
# The first Python 3.11+ found: python3 itself, else a versioned one.
PYTHON ?= $(shell for p in python3 python3.13 python3.12 python3.11; do \
	command -v $$p >/dev/null && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && { echo $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
# The database the `minqing` command reads by default, so that after
# `make demo` `.venv/bin/minqing check` (and every other command) sees the demo county.
DEMO_DB := instance/minqing.db
DEMO_URL := sqlite:///$(CURDIR)/$(DEMO_DB)
PORT ?= 5000
PYTEST_WORKERS ?= 2

.PHONY: help demo mobile test lint format bench clean

help: ## Show this help
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(INSTALLED): pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.11 or newer is needed (python3.11, python3.12 or python3.13)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,mobile]'
	touch $@

$(DEMO_DB): | $(INSTALLED)
	@mkdir -p instance
	@rm -f $@.partial $@.partial-wal $@.partial-shm
	DATABASE_URL=sqlite:///$(CURDIR)/$@.partial $(BIN)/minqing db init
	DATABASE_URL=sqlite:///$(CURDIR)/$@.partial $(BIN)/minqing demo --seed 2015
	@# Only a finished demo county takes the real name, so a run cut short starts over.
	mv $@.partial $@

demo: $(INSTALLED) $(DEMO_DB) ## Set up and serve the demo county on http://127.0.0.1:5000 (or PORT=…), with a job worker
	@echo
	@echo "  民情 Minqing demo: http://127.0.0.1:$(PORT)"
	@echo "  Log in as county admin:  admin / minqing-demo"
	@echo "  Town admins: town-qianlou, town-kangmei, ... / minqing-demo; cadres use the phone app"
	@echo
	@# The job worker (long downloads) beside the server, stopped with it; the
	@# schema brought up to date first, as the worker will not do it.
	DATABASE_URL=$(DEMO_URL) $(BIN)/minqing db upgrade
	DATABASE_URL=$(DEMO_URL) $(BIN)/minqing worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker' EXIT; \
	DATABASE_URL=$(DEMO_URL) $(BIN)/minqing serve --host 127.0.0.1 --port $(PORT)

mobile: $(INSTALLED) ## Open the cadre's phone app in a window, against `make demo`'s server (same PORT)
	$(BIN)/python -m mobile --server http://127.0.0.1:$(PORT)

test: $(INSTALLED) ## Set up and run the whole test suite (SQLite and PostgreSQL)
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist worksteal

lint: $(INSTALLED) ## ruff, ruff format --check and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(INSTALLED) ## Format the code
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(INSTALLED) ## Run the benchmarks; results go to docs/benchmarks.md
	$(BIN)/python -m bench

clean: ## Remove the virtualenv and the demo database
	rm -rf $(VENV) instance
