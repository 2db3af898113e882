# The two commands of the README. Each sets up what it needs first.
#   make site   build the book into _build/html
#   make test   run every test (the data, the chapters' numbers, the build)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: site test clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall only when a requirements file changes.
$(VENV)/.site-installed: requirements.txt pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.test-installed: requirements-test.txt $(VENV)/.site-installed
	$(BIN)/python -m pip install --quiet -r requirements-test.txt
	touch $@

site: $(VENV)/.site-installed
	$(BIN)/jupyter-book build . -W -n --keep-going

test: $(VENV)/.test-installed
	$(BIN)/ruff check src tests
	$(BIN)/python -m pytest

clean:
	rm -rf _build
