VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-fast lint format schema clean

# uv (from PyPI, into the venv) installs in seconds what pip takes minutes for; it compiles the
# packages' bytecode as pip does, so that no process compiles them again. The venv is made
# without pip (putting pip into it takes seconds) and the Python it came from puts uv into it.
# Where that Python has no pip, or uv cannot be had or cannot reach the index (e.g. an index
# configured for pip only), the venv gets its own pip, and pip does it all.
$(STAMP): pyproject.toml
	@echo "Installing Portico and its dependencies into $(VENV); this takes under a minute..."
	test -x $(BIN)/python || $(PYTHON) -m venv --without-pip $(VENV)
	(PIP_ROOT_USER_ACTION=ignore $(PYTHON) -m pip install --quiet --prefix $(VENV) uv && \
	 $(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -e '.[test]') || \
	(($(BIN)/python -m pip --version >/dev/null 2>&1 || $(BIN)/python -m ensurepip --upgrade) && \
	 $(BIN)/python -m pip install --quiet --upgrade pip && \
	 $(BIN)/python -m pip install --quiet -e '.[test]')
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/portico migrate
	$(BIN)/portico demo
	$(BIN)/portico serve

# pytest-xdist's workers, one more than CPUs (tests/conftest.py); each takes more from the others'
# queues when its own is done.
# The run writes bytecode even where PYTHONDONTWRITEBYTECODE says not to: otherwise each worker
# and each `portico` process the tests start compiles Portico and the rewritten test modules
# again, seconds of CPU each time.
test: $(STAMP)
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest -n auto --dist worksteal $(PYTEST_ARGS)

# What is quick to run while working: neither the slow tests nor those that start processes.
test-fast: $(STAMP)
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest -n auto --dist worksteal \
		-m "not slow and not e2e" $(PYTEST_ARGS)

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
