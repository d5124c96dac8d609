VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-fast lint format schema clean

$(STAMP): pyproject.toml
	@echo "Installing Portico and its dependencies into $(VENV); this takes a minute or two..."
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/portico migrate
	$(BIN)/portico demo
	$(BIN)/portico serve

# One worker per CPU (pytest-xdist); each takes more from the others' queues when its own is done.
test: $(STAMP)
	$(BIN)/python -m pytest -n auto --dist worksteal $(PYTEST_ARGS)

# What is quick to run while working: neither the slow tests nor those that start processes.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -n auto --dist worksteal -m "not slow and not e2e" $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

schema: $(STAMP)
	$(BIN)/portico export-schema > schema.graphql

clean:
	rm -rf $(VENV) var .pytest_cache
