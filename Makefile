# The two commands: `make demo` (a synthetic month end to end) and `make test` (the test suite, under
# 10 minutes); `make test-slow` runs the long fault-injection and image cases, which CI runs too.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test test-slow lint format benchmark clean

$(BIN)/.installed: setup.cfg pyproject.toml requirements/constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c requirements/constraints.txt -e '.[test,scheduler,lint]'
	touch $@

demo: $(BIN)/.installed
	$(BIN)/bottleneck-demo

test: $(BIN)/.installed
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

test-slow: $(BIN)/.installed
	$(BIN)/python -m pytest -m slow $(PYTEST_ARGS)

# Static checks, as CI runs them: ruff (lint and format) and mypy, configured in pyproject.toml.
lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Applies ruff's safe fixes and its formatting.
format: $(BIN)/.installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

benchmark: $(BIN)/.installed
	$(BIN)/python -m benchmarks.run $(BENCHMARK_ARGS)

clean:
	rm -rf $(VENV) lake .pytest_cache
