# The two commands of the README: `make demo` and `make test`. Both build .venv first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv test lint unit integration sanity demo bench reliability build clean

venv: $(STAMP)

$(STAMP): requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

test: venv lint
	$(BIN)/python -m pytest -q tests/unit tests/integration
	tests/sanity/run.sh

lint: venv
	$(BIN)/ruff check .

sanity: venv
	tests/sanity/run.sh

demo: venv
	$(BIN)/python demo/run_demo.py

bench: venv
	$(BIN)/python bench/run.py

reliability: venv
	$(BIN)/python -m pytest -q tests/reliability

build: venv
	$(BIN)/ansible-galaxy collection build --force --output-path dist/
	$(BIN)/python -m pip wheel --quiet --no-deps -w dist/ .

clean:
	rm -rf dist build tests/output bench/results .ruff_cache .hypothesis
