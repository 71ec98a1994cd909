# Two commands do all set-up on a fresh machine with only python3 and make:
#   make run    virtual environment, migrations, demo institution on first run, the app
#   make test   virtual environment with dev extras, the whole suite
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SECRET_FILE := var/secret.key
export OUTCOMES_DATABASE_URL ?= sqlite:///var/outcomes.db

.PHONY: run test lint bench mutants clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.runtime

# A random key for survey-token hashes and demo sign-ins, made once per checkout.
$(SECRET_FILE):
	@mkdir -p -m 700 var
	@umask 077 && $(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(48))' > $@

# Demo mode (demo staff sign-ins) is on for make run unless OUTCOMES_DEMO says otherwise.
run: $(VENV)/.runtime $(SECRET_FILE)
	@export OUTCOMES_SECRET_KEY="$${OUTCOMES_SECRET_KEY:-$$(cat $(SECRET_FILE))}" && \
	  export OUTCOMES_DEMO="$${OUTCOMES_DEMO:-on}" && \
	  $(BIN)/outcomes demo prepare && \
	  exec $(BIN)/streamlit run app.py --server.address localhost --server.port 8501

test: $(VENV)/.dev
	$(BIN)/python -m pytest -n 2 --dist loadgroup

lint: $(VENV)/.dev
	$(BIN)/ruff check src tests pages app.py bench
	$(BIN)/ruff format --check src tests pages app.py bench
	$(BIN)/mypy src
	$(BIN)/lint-imports

bench: $(VENV)/.dev
	$(BIN)/python bench/run.py

# Mutation testing of the core (not run by CI or make test): report in bench/results/mutants.md.
# The default arguments reproduce the committed report; MUTANTS_ARGS= runs every mutant.
MUTANTS_ARGS ?= --sample 108 --seed 1 --jobs 2
mutants: $(VENV)/.dev
	$(BIN)/python bench/mutants.py $(MUTANTS_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
