# redrive.eventbridge — build, test and packaging entry points.
# Every target uses the project venv's tools by path (.venv/bin/...), never activation.
#
#   make venv         create .venv and install requirements-dev.txt (only when it changed)
#   make test         ruff check, pytest (unit + integration), ansible-test sanity
#   make aws-cli-v2   install Debian's awscli (AWS CLI v2) if /usr/bin/aws is missing (make test does)
#   make sanity       ansible-test sanity only (tests/sanity/run.sh)
#   make demo         demo/run_demo.py
#   make bench        bench/run.py              (BENCH_ARGS="..." passes options)
#   make reliability  the full reliability suite; on success its figures become docs/reliability.md
#   make build        collection tarball + wheel into dist/
#   make lambda       the Lambda function's deployment zip into dist/ (handler + module_utils)
#   make clean        remove build and test output

PYTHON ?= $(shell command -v python3.11 || command -v python3)
PIP_VERSION := 26.3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.stamp
PYTEST := $(BIN)/python -m pytest -p no:cacheprovider -q

.PHONY: venv aws-cli-v2 test lint unit sanity demo bench reliability build lambda clean

venv: $(STAMP)

# Reinstall only when requirements-dev.txt is newer than the stamp.
$(STAMP): requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check pip==$(PIP_VERSION)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

# The CLI tests run under AWS CLI v1 (PyPI, in the venv) and under AWS CLI v2 as most operators
# have it: Debian's awscli package (/usr/bin/aws, system Python, its own botocore). Installed
# with apt as root or through passwordless sudo; where neither works, the v2 runs of the CLI
# tests are skipped and say why (tests/support/aws_cli.py).
AWS_V2 := /usr/bin/aws
aws-cli-v2:
	@if [ -x $(AWS_V2) ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then sudo=""; \
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo -n"; \
	else echo "aws-cli-v2: not root and no passwordless sudo: AWS CLI v2 tests will be skipped"; exit 0; fi; \
	if ! command -v apt-get >/dev/null 2>&1; then \
		echo "aws-cli-v2: no apt-get here: AWS CLI v2 tests will be skipped"; exit 0; fi; \
	echo "==> apt-get install awscli (AWS CLI v2 for the CLI tests)"; \
	$$sudo apt-get update -qq && \
	DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends awscli >/dev/null \
		|| echo "aws-cli-v2: apt-get install awscli failed: AWS CLI v2 tests will be skipped"

# All three steps run even when an earlier one fails, so one CI run reports everything;
# the target fails if any step failed (pytest's exit 5, "no tests collected", included).
test: venv aws-cli-v2
	@failed=""; \
	echo "==> ruff check ."; \
	$(BIN)/ruff check . || failed="$$failed ruff"; \
	echo "==> pytest tests/unit tests/integration"; \
	$(PYTEST) tests/unit tests/integration || failed="$$failed pytest"; \
	echo "==> ansible-test sanity"; \
	bash tests/sanity/run.sh || failed="$$failed sanity"; \
	if [ -n "$$failed" ]; then echo "make test: FAILED:$$failed"; exit 1; fi; \
	echo "make test: ruff, pytest and sanity passed"

lint: venv
	$(BIN)/ruff check .

unit: venv
	$(PYTEST) tests/unit

sanity: venv
	bash tests/sanity/run.sh

demo: venv
	$(BIN)/python demo/run_demo.py

bench: venv
	$(BIN)/python bench/run.py $(BENCH_ARGS)

# The report is written by every run; only a passing run publishes it.
reliability: venv
	rm -f tests/output/reliability/reliability.md
	$(PYTEST) tests/reliability
	cp tests/output/reliability/reliability.md docs/reliability.md
	@echo "figures published: docs/reliability.md"

build: venv
	$(BIN)/ansible-galaxy collection build --force --output-path dist/
	$(BIN)/python -m pip wheel --quiet --disable-pip-version-check --no-deps -w dist/ .
	@ls -l dist/

# Handler + module_utils only: boto3 and botocore come with the Lambda Python runtime.
lambda: venv
	$(BIN)/python examples/lambda/build_zip.py dist/redrive-eventbridge-lambda.zip

clean:
	rm -rf dist build tests/output bench/results .ruff_cache .pytest_cache .hypothesis
	find . -path ./.venv -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
