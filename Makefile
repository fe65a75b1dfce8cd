# ward_geo — the two commands of the quick start are `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Real reference data (boundaries, streets, bus stops, incidents); never copied into the repo.
export WARD_GEO_REFERENCE_DIR ?= $(abspath ../shared/data)

# Pinned versions of everything installed here (refresh with `make lock`); pyproject.toml keeps open ranges.
CONSTRAINTS := requirements/constraints.txt

.PHONY: setup demo test test-deps lint lock bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml $(CONSTRAINTS)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip setuptools wheel
	$(BIN)/pip install --quiet -c $(CONSTRAINTS) -e '.[dev,postgis,distributed]'
	touch $@

## Re-resolve the open ranges of pyproject.toml in .venv and write the pins to $(CONSTRAINTS).
lock:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip setuptools wheel
	$(BIN)/pip install --quiet --upgrade --upgrade-strategy eager -e '.[dev,postgis,distributed]'
	bash scripts/lock.sh
	touch $(VENV)/.installed

## Lint, type-check and layer check (configuration in pyproject.toml); any finding fails.
lint: setup
	$(BIN)/ruff check src
	$(BIN)/mypy
	$(BIN)/lint-imports

## Set up, then run the main job on the embedded store: simulate + ingest the central
## Hanoi wards, write hotspot GeoJSON, maps and a patrol plan.
demo: setup
	$(BIN)/ward-geo demo

## System packages the tests use (headless Chromium, PostgreSQL + PostGIS); needs root.
test-deps:
	bash scripts/system-deps.sh

## The whole test suite, against a real PostGIS server and a real headless browser.
test: setup lint test-deps
	bash scripts/test.sh

bench: setup
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) data/ward_geo.sqlite* data/cache data/out maps/*.html
