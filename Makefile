# Two commands on a fresh machine:  `make demo`  and  `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install demo test unit lint validate

$(BIN)/publish: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11+ is needed (found $$($(PYTHON) --version))"; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

install: $(BIN)/publish  ## create .venv with the project and its dev tools

validate: install  ## validate the shipped catalogue
	$(BIN)/publish validate

demo: validate  ## the main job

lint: install
	$(BIN)/ruff check .

test: install lint  ## lint and run the whole test suite
	$(BIN)/pytest
