# Two commands do all setup on a fresh Debian 12 machine:
#   make run    venv, install, migrate, a demo community, the development server
#   make test   venv, install (with Debian's chromium for browser tests), lint, all tests
# Debian's own Python 3.11, the interpreter the playbooks deploy on, wherever it is present:
# Debian builds it with PGO and LTO: a request takes about 13 % fewer instructions on it than
# on a plain source build such as pyenv's (bench/request_cost.py --instructions), and each
# instruction runs faster.
SYSTEM_PYTHON := /usr/bin/python3.11
PYTHON ?= $(shell if [ -x $(SYSTEM_PYTHON) ]; then echo $(SYSTEM_PYTHON); else command -v python3.11 || command -v python3; fi)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test lint install install-dev browser-deps deploy-test bench clean
# Set DEPLOY_TESTS=0 to skip the Ansible tests (CI's second pass: they do not use the database).
DEPLOY_TESTS ?= 1

# Debian ships venv's pip bootstrap separately (python3.11-venv).
$(BIN)/python:
	@if [ "$(PYTHON)" = "$(SYSTEM_PYTHON)" ] && ! $(PYTHON) -c 'import ensurepip' 2>/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq python3.11-venv >/dev/null; \
	fi
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

run: install
	DEBUG=true HOLDFAST_SERVE_MEDIA=true $(BIN)/python manage.py migrate --noinput -v0
	DEBUG=true $(BIN)/python manage.py setup_demo
	@echo "Holdfast is at http://$(HOST):$(PORT)/  (Ctrl-C stops it)"
	@[ "$${HOLDFAST_MODERATION_DEEP:-false}" = true ] || echo "Second-stage moderation (MiniLM) is off here; to turn it on: $(BIN)/pip install -e '.[deep]' && HOLDFAST_MODERATION_DEEP=true make run"
	DEBUG=true HOLDFAST_SERVE_MEDIA=true $(BIN)/python manage.py runserver $(HOST):$(PORT)

# Debian's chromium drives the browser tests (Playwright cannot download its own here).
browser-deps:
	@if ! command -v chromium >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; \
	fi

lint: install-dev
	$(BIN)/ruff check .

test: install-dev browser-deps lint
	$(BIN)/pytest
	@if [ "$(DEPLOY_TESTS)" = 0 ]; then echo "deploy tests skipped (DEPLOY_TESTS=0)"; else $(MAKE) --no-print-directory deploy-test; fi

# Playbooks against throwaway Debian 12 hosts (network namespaces + systemd-nspawn): root only.
deploy-test:
	@if [ "$$(id -u)" = 0 ]; then bash tests/ansible/run.sh; \
	else echo "deploy tests skipped: booting test hosts needs root (CI runs them as root)"; fi

bench: install-dev
	$(BIN)/python bench/timeline.py

clean:
	rm -rf $(VENV) var db.sqlite3 .pytest_cache
