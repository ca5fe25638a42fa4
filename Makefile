# fieldapp developer commands. `make help` lists them.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: help run test install install-test system-deps lint fmt bench translations clean check-wheel

help:  ## list the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,dev]'
	touch $@

install: $(VENV)/.installed  ## create .venv and install fieldapp with its test and dev tools

system-deps:  ## install Chromium, poppler and zbar (Debian; needs root) when missing
	@bash tools/system-deps.sh

run: install  ## install, create the demo program (first time), serve on http://127.0.0.1:5000
	$(PY) -m fieldapp demo --if-empty
	$(PY) -m fieldapp welcome --url http://$(HOST):$(PORT)/
	$(PY) -m fieldapp run --host $(HOST) --port $(PORT)

test: install system-deps  ## install everything the tests need, then run the whole suite
	$(PY) -m pytest -n auto --dist loadfile

check-wheel: install  ## build the wheel, install it outside the checkout, serve it (CI step)
	PYTHON=$(PY) bash tools/check-wheel.sh

lint: install  ## ruff (style, imports, bugbear, bandit); import contracts (pyproject.toml)
	$(PY) -m ruff check fieldapp sync testing tests benchmarks tools
	PYTHONPATH=$(CURDIR) $(VENV)/bin/lint-imports

fmt: install  ## ruff format and import sorting
	$(PY) -m ruff check --fix --select I fieldapp sync testing tests benchmarks tools
	$(PY) -m ruff format fieldapp sync testing tests benchmarks tools

bench: install  ## run the benchmarks at scale 1 (figures for docs/benchmarks.md)
	$(PY) benchmarks/pages.py --scale 1
	$(PY) benchmarks/printing.py
	$(PY) benchmarks/sync.py --scale 1

translations: install  ## extract messages and update the Spanish catalogue
	$(PY) tools/i18n_fill.py

clean:  ## remove the virtualenv and caches (instance/ data is kept)
	rm -rf $(VENV) .pytest_cache .ruff_cache
