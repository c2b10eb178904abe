# geo-service: `make run` serves the app, `make test` passes the tests; each sets everything up.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Test processes: one database, one live server and one browser each (pytest-xdist).
TEST_WORKERS ?= auto

.PHONY: run test setup system-deps system-deps-test lint bench clean-db vendor

run: setup
	$(BIN)/geo-service serve --demo

test: system-deps-test $(STAMP)
	$(BIN)/ruff check geo_service tests bench migrations
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS)

setup: system-deps $(STAMP)

system-deps:
	@scripts/system-deps.sh run

system-deps-test:
	@scripts/system-deps.sh test

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -e '.[test]'
	@touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: setup
	$(BIN)/pip install -q -e '.[bench]'
	$(BIN)/python -m bench

clean-db:
	-$(BIN)/geo-service db stop
	rm -rf var

# Front-end libraries come from npm at build time and are committed under web/static/vendor,
# so neither the service nor a fresh clone needs the network to serve the map.
vendor:
	cd web && npm ci --no-audit --no-fund
	scripts/vendor-web.sh
