# Engage. The two commands: `make run` serves the demo company, `make test` runs the suite.
# Both set up .venv themselves (scripts/bootstrap.sh) and are safe to run again.

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
ARGS ?=
# The demo's administrator signs in with the published password alone, unless asked otherwise
# (production's default asks admins for a second factor: README, ENGAGE_TOTP_REQUIRED_ROLES).
ENGAGE_TOTP_REQUIRED_ROLES ?=
# Checked by ruff and mypy: the apps, the platform and the scripts.
APPS := accounts training content engage
TYPED := $(APPS) config scripts

.PHONY: help run test fuzz lint bench worker beat prod venv venv-dev

help:
	@echo "make run     serve the demo company on http://$(HOST):$(PORT) (PORT=, HOST= to change)"
	@echo "make test    run the whole test suite (ARGS=\"-k name\" passes arguments to pytest)"
	@echo "make fuzz    schemathesis against the served API schema, as an admin and an employee (own database)"
	@echo "make lint    ruff check, ruff format --check and mypy"
	@echo "make bench   the speed benchmark (own PostgreSQL database and Redis db, gunicorn, wrk); writes bench/RESULTS.md"
	@echo "make worker  a Celery worker (needs REDIS_URL)"
	@echo "make beat    the Celery beat scheduler (needs REDIS_URL)"
	@echo "make prod    the production shape: migrate, collectstatic, gunicorn (needs DATABASE_URL, REDIS_URL, SECRET_KEY)"

venv:
	@scripts/bootstrap.sh run

venv-dev:
	@scripts/bootstrap.sh dev

run: venv
	@DEBUG=1 PORT=$(PORT) $(PY) manage.py migrate --noinput
	@DEBUG=1 PORT=$(PORT) $(PY) manage.py seed_demo --url http://$(HOST):$(PORT)/
	@DEBUG=1 PORT=$(PORT) ENGAGE_TOTP_REQUIRED_ROLES=$(ENGAGE_TOTP_REQUIRED_ROLES) exec $(PY) manage.py serve $(HOST):$(PORT)

test: venv-dev
	@$(PY) scripts/test.py $(ARGS)

fuzz: venv-dev
	@$(PY) scripts/fuzz_api.py

lint: venv-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy $(TYPED)

bench: venv
	@command -v wrk >/dev/null || apt-get install -y wrk
	$(PY) -m bench.run $(ARGS)

worker: venv
	@test -n "$$REDIS_URL" || { echo "make worker needs REDIS_URL (e.g. redis://127.0.0.1:6379/0). Without it, make run runs jobs in-process."; exit 1; }
	exec $(VENV)/bin/celery -A config worker --loglevel=INFO

beat: venv
	@test -n "$$REDIS_URL" || { echo "make beat needs REDIS_URL (e.g. redis://127.0.0.1:6379/0). Without it, make run runs the schedule in-process."; exit 1; }
	exec $(VENV)/bin/celery -A config beat --loglevel=INFO --schedule "$${ENGAGE_VAR_DIR:-var}/celerybeat-schedule"

prod: venv
	@for name in DATABASE_URL REDIS_URL SECRET_KEY; do \
	  test -n "$${!name}" || { echo "make prod needs $$name (see README, 'The production shape')"; exit 1; }; \
	done
	DEBUG=0 $(PY) manage.py migrate --noinput
	DEBUG=0 $(PY) manage.py collectstatic --noinput
	DEBUG=0 exec $(VENV)/bin/gunicorn config.wsgi --bind $(HOST):$(PORT) \
	  --workers $$((2 * $$(nproc) + 1)) --worker-class sync --access-logfile -
