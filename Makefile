# nnbench — every command a user or CI needs. Each target installs what it needs.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: help install test lint demo bench clean

help:
	@echo "make demo    compare SGD and Adam on sin(x): live table, CSVs and a figure under results/demo"
	@echo "make test    lint (ruff) and the test suite (pytest)"
	@echo "make bench   speed benchmarks against PyTorch when it is installed"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[test]"
	@touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check nnbench tests benchmarks

test: lint
	$(BIN)/python -m pytest -q

demo: $(STAMP)
	$(BIN)/nnbench compare --optims sgd,adam --task sin --out results/demo --overwrite

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
