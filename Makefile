# Resolution Hub — two commands on a fresh machine:
#   make run   install, migrate, load demo data, start web + Celery worker + beat (embedded default)
#   make test  install, check migrations, lint, run the whole suite against PostgreSQL
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
PORT ?= 8000
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: run test install install-dev services browser lint bench clean embedded-check

$(BIN)/.installed: requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	@touch $@

$(BIN)/.installed-dev: $(BIN)/.installed requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $@

install: $(BIN)/.installed
install-dev: $(BIN)/.installed-dev

run: install
	@bash scripts/run.sh $(PORT)

# Local services the suite needs (PostgreSQL, Redis), started if they are down; Chromium for browser tests.
services:
	@bash scripts/services.sh

browser:
	@bash scripts/browser.sh

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: install-dev services browser
	DJANGO_SETTINGS_MODULE=config.settings.test $(PY) manage.py makemigrations --check --dry-run
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	bash scripts/deploy_check.sh
	bash scripts/embedded_check.sh
	$(BIN)/pytest $(PYTEST_ARGS)

embedded-check: install
	bash scripts/embedded_check.sh

bench: install-dev services
	bash bench/run.sh

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache .ruff_cache
