# The two commands: `make run` and `make test`. Both create .venv when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Tests run in this many processes (pytest-xdist); `make test TEST_WORKERS=0` runs them in this one.
TEST_WORKERS ?= 2

.PHONY: run test lint install bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/bpu-bot run

# The guard rails first (seconds), then the suite: a red lint fails before ten minutes of tests.
test: lint
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --durations=15 $(PYTEST_ARGS)  # the slowest tests, to keep the suite under 10 minutes

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

bench: $(STAMP)
	@for b in bench/[a-z]*.py; do m=$$(basename $$b .py); echo "== bench.$$m"; $(BIN)/python -m bench.$$m || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info
