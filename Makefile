# Two commands on a fresh machine:  `make demo`  and  `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORTAL := portal/portal.sh
# Each target's own pytest temp folder: pytest keeps only its last 3 runs' folders in the shared
# /tmp/pytest-of-$$USER, so a second test run on the machine could delete this one's files mid-run.
TMPS := $(CURDIR)/.pytest-tmp

.PHONY: install demo test test-ckan-2.11 chaos readme unit lint validate portal portal-env portal-stop portal-reset benchmark benchmark-keyed benchmark-peers benchmark-rerun benchmark-validation benchmark-goals

$(BIN)/publish: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11+ is needed (found $$($(PYTHON) --version))"; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

install: $(BIN)/publish  ## the project and its dev tools in .venv

validate: install  ## validate the shipped catalogue
	$(BIN)/publish validate

demo: install  ## the main job: validate, start the local CKAN, publish the catalogue, print the URLs
	$(BIN)/publish validate
	@eval "$$($(PORTAL) start)" && $(BIN)/publish push --yes && \
	  echo && echo "Open the portal: $$CKAN_URL/organization/digital-interkommunal" && \
	  echo "(credentials: $(PORTAL) env; stop it with: make portal-stop)"

# The portal examples empty the organization digital-interkommunal on the local portal first.
readme: install  ## regenerate the README's generated examples (validate, push, diff, pull, --help) from real runs
	@eval "$$($(PORTAL) start)" && eval "$$($(PORTAL) env --sysadmin)" && \
	  README_PORTAL=1 $(BIN)/cog -r -I . README.md

# One test file per worker (--dist loadfile): a file's tests share their imports, module fixtures and
# the run's validation cache. The folders of portal tests are not even collected. Compiled modules
# are kept (__pycache__, gitignored) even where PYTHONDONTWRITEBYTECODE is set: otherwise each
# worker and each subprocess a test starts compiles the project's modules again. A passing test's
# tmp_path is removed by its worker (kept when it fails), not thousands of files left for a later run.
unit: install  ## the unit tests alone: no portal, nothing slow, on both cores (seconds)
	@mkdir -p $(TMPS)
	PYTHONDONTWRITEBYTECODE= $(BIN)/pytest -q -n 2 --dist loadfile -o tmp_path_retention_policy=failed \
	  -m "not portal and not slow" --ignore=tests/integration --ignore=tests/reliability --basetemp=$(TMPS)/unit

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: install lint  ## lint, start the local CKAN, run the whole test suite
	@mkdir -p $(TMPS) && eval "$$($(PORTAL) start)" && PYTHONDONTWRITEBYTECODE= $(BIN)/pytest --basetemp=$(TMPS)/test

# The integration tests once more against CKAN 2.11 (a second portal: own state folder and ports).
CKAN_211 := CKAN_VERSION=2.11.6 PORTAL_STATE=.portal-2.11 CKAN_PORT=5011 SOLR_PORT=8911 PG_PORT=54311 REDIS_PORT=63711
test-ckan-2.11: install  ## run the integration tests against CKAN 2.11, then stop that portal
	@mkdir -p $(TMPS); export $(CKAN_211); eval "$$($(PORTAL) start)" && PYTHONDONTWRITEBYTECODE= $(BIN)/pytest tests/integration --basetemp=$(TMPS)/ckan-2.11; \
	  status=$$?; $(PORTAL) stop; exit $$status

chaos: install  ## the reliability trials alone (faults, kill -9, two spellings); prints seeds and figures
	@mkdir -p $(TMPS) && eval "$$($(PORTAL) start)" && $(BIN)/pytest tests/reliability -q --basetemp=$(TMPS)/chaos

portal:  ## start the local CKAN (idempotent); prints export lines
	@$(PORTAL) start

portal-env:  ## print the export lines again
	@$(PORTAL) env

portal-stop:  ## stop every process the portal script started
	@$(PORTAL) stop

portal-reset:  ## stop and wipe the portal's state folder
	@$(PORTAL) reset

benchmark: install  ## push a 1 GiB file, then load 1M rows into the DataStore; print time and peak memory
	@eval "$$($(PORTAL) start)" && $(BIN)/python -u benchmarks/push_large_file.py --no-datastore && \
	  $(BIN)/python -u benchmarks/datastore_load.py

benchmark-keyed: install  ## push a 1 GiB file with a primary key (no DataStore): peak memory of validation and push against issue 13's goal (KEYED_ARGS=--size-mb N)
	@eval "$$($(PORTAL) start)" && $(BIN)/python -u benchmarks/push_large_file.py --keyed --no-datastore $(KEYED_ARGS)

# The peers, each in its own venv under .bench/ (gitignored), for benchmarks/peers.py.
BENCH := .bench
$(BENCH)/ckanapi/bin/ckanapi:
	$(PYTHON) -m venv $(BENCH)/ckanapi
	$(BENCH)/ckanapi/bin/pip install --quiet ckanapi
$(BENCH)/frictionless/bin/frictionless:
	$(PYTHON) -m venv $(BENCH)/frictionless
	$(BENCH)/frictionless/bin/pip install --quiet 'frictionless[ckan]'

benchmark-rerun: install  ## an unchanged rerun of a 50-dataset catalogue as a new process (warm and cold validation cache)
	@eval "$$($(PORTAL) start)" && eval "$$($(PORTAL) env --sysadmin)" && $(BIN)/python -u benchmarks/unchanged_rerun.py $(RERUN_ARGS)

benchmark-peers: install $(BENCH)/ckanapi/bin/ckanapi $(BENCH)/frictionless/bin/frictionless  ## publish one synthetic catalogue with ckanapi, frictionless and publish, rerun; one table
	@eval "$$($(PORTAL) start)" && $(BIN)/python -u benchmarks/peers.py $(PEERS_ARGS)

benchmark-goals: install $(BENCH)/ckanapi/bin/ckanapi $(BENCH)/frictionless/bin/frictionless  ## every goal of issue 13 measured in one run, one table of verdicts (about 20 min; GOALS_ARGS=--quick tries it out)
	@eval "$$($(PORTAL) start)" && eval "$$($(PORTAL) env --sysadmin)" && $(BIN)/python -u benchmarks/goals.py $(GOALS_ARGS)

benchmark-validation: install  ## the fast validation engine against Frictionless: 10k/100k/1M rows, errors compared (VALIDATION_ARGS=--large: a 1 GiB keyed file too)
	$(BIN)/python -u benchmarks/validation_speed.py $(VALIDATION_ARGS)
