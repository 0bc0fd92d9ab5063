# orbitstore — two commands: `make demo` and `make test`. Everything else is installed by them.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
CACHE  ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/orbitstore
# Kubo is built once per machine and reused by every clone (CI runs in a fresh clone).
export KUBO_BIN_DIR ?= $(CACHE)/bin
export GOPATH ?= $(CACHE)/go
export GOCACHE ?= $(CACHE)/go-build
export ORBITSTORE_KUBO_BIN ?= $(KUBO_BIN_DIR)/ipfs
PYTEST_ARGS ?=

.PHONY: help demo test bench lint typecheck deps deps-python deps-kubo deps-node deps-chromium clean

help:
	@echo "make demo   - install what the demo needs and run the main job end to end"
	@echo "make test   - install everything the tests need (Python, Kubo, anvil, node, Chromium) and run them all"
	@echo "make bench  - run the benchmarks in benchmarks/"

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e '.[daemon,ml,evm,dev]'
	touch $@

deps-python: $(VENV)/.installed

deps-kubo:
	bash ipfs-config/install-kubo.sh

deps-node:
	@for d in tests/interop/js tools/anvil; do \
	  if [ -f $$d/package-lock.json ]; then \
	    if [ ! -d $$d/node_modules ] || [ $$d/package-lock.json -nt $$d/node_modules/.package-lock.json ]; then \
	      echo "npm ci in $$d"; (cd $$d && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) || exit 1; \
	    fi; \
	  fi; \
	done

deps-chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the web page tests"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	  || echo "could not install chromium: browser tests will skip (or fail under ORBITSTORE_REQUIRE_ALL=1)"; }

deps: deps-python deps-kubo deps-node deps-chromium

lint: deps-python
	$(VENV)/bin/ruff check orbitstore mlbridge tests benchmarks
	$(VENV)/bin/ruff format --check orbitstore mlbridge tests benchmarks

typecheck: deps-python
	$(VENV)/bin/mypy orbitstore mlbridge

test: deps lint typecheck
	$(VENV)/bin/pytest -q $(PYTEST_ARGS)

demo: deps-python
	$(PY) -m orbitstore.demo

bench: deps-python
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) -m benchmarks.$$(basename $$b .py) || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache demo-data
