# Two commands do everything on a fresh machine (see README):
#   make demo   demo data -> ingest -> train -> serve, prints a real recommendation over HTTP
#   make test   the whole test suite (fast tests, then the slow integration tests)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test test-fast test-slow lint typecheck check bench openapi clean

install: $(STAMP)

# constraints.txt pins every package for reproducible installs (torch==2.13.0 is the local CPU wheel).
$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e ".[dev]"
	touch $(STAMP)

demo: install
	$(BIN)/recsys demo

test: install
	$(BIN)/pytest -q -m "not slow"
	$(BIN)/pytest -q -m slow

test-fast: install
	$(BIN)/pytest -q -m "not slow"

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy recsys training features serving evaluation models

check: lint typecheck test

clean:
	rm -rf .recsys .pytest_cache .mypy_cache .ruff_cache
