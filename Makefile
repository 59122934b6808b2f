# nnfun: `make train` trains the seed recipe, `make test` runs every check.
VENV   ?= .venv
PYTHON ?= python3
BIN    := $(VENV)/bin
ARGS   ?=
# setuptools announces every editable install with a multi-line notice ("Editable installation",
# a warning of category InformationOnly); nothing to act on, so make keeps the install quiet.
PIP    := PYTHONWARNINGS="ignore:Editable installation" $(BIN)/python -m pip

.PHONY: train test test-fast check lint typecheck bench format clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime: pyproject.toml | $(BIN)/activate
	$(PIP) install --quiet -e ".[all]"
	touch $@

$(VENV)/.dev: pyproject.toml | $(BIN)/activate
	$(PIP) install --quiet -e ".[dev]"
	touch $@ $(VENV)/.runtime

## train: create .venv, install nnfun, train the seed recipe (extra flags: make train ARGS="--epochs 5")
train: $(VENV)/.runtime
	$(BIN)/nnfun train $(ARGS)

## test: create .venv with the dev tools, then lint, type-check and run the test suite
test: $(VENV)/.dev check
	$(BIN)/python -m pytest

## test-fast: the pure core's lane, in seconds (no CLI, no real MNIST, no browser)
test-fast: $(VENV)/.dev
	$(BIN)/python -m pytest -m "not slow and not mnist and not e2e"

check: lint typecheck

lint: $(VENV)/.dev
	$(BIN)/ruff check nnfun cli tests bench tools
	$(BIN)/ruff format --check nnfun cli tests bench tools

typecheck: $(VENV)/.dev
	$(BIN)/mypy nnfun cli

format: $(VENV)/.dev
	$(BIN)/ruff format nnfun cli tests bench tools
	$(BIN)/ruff check --fix nnfun cli tests bench tools

## bench: training speed against the matmul floor (and PyTorch, if importable)
bench: $(VENV)/.runtime
	$(PIP) install --quiet -e ".[all,bench]"
	$(BIN)/python bench/train_speed.py $(ARGS)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
