# Token Economy: `make run` sets everything up and serves the app; `make test` runs lint (ruff and the
# import-linter layer contracts in pyproject.toml) and the suite.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
MANAGE := $(BIN)/python manage.py
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install browser run serve serve-prod worker migrate demo test lint format bench clean

$(STAMP): requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $(STAMP)

install: $(STAMP)

# Browser tests drive Debian's Chromium (Playwright's own browser download cannot work here).
browser:
	@test -x /usr/bin/chromium || { echo "Installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# Local runs use DEBUG (no secret key to manage); production uses tokenecon.settings.production.
run serve worker migrate demo: export DJANGO_DEBUG ?= 1

migrate: install
	$(MANAGE) migrate --noinput

# Demo data from the simulator, the demand models trained on it, price advice, the learner
# propensity models, scores and offers; training does nothing when this data was trained on.
demo: migrate
	$(MANAGE) seed_demo
	$(MANAGE) train --sync
	$(MANAGE) recommend_prices
	$(MANAGE) train --kind propensity --sync
	$(MANAGE) score_learners

run: demo
	@echo "Serving on http://$(HOST):$(PORT)/ with a Celery worker (Ctrl-C stops both)"
	@trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(BIN)/celery -A tokenecon worker --beat --loglevel=INFO --concurrency=2 & worker=$$!; \
	$(MANAGE) runserver $(HOST):$(PORT)

worker: install
	$(BIN)/celery -A tokenecon worker --beat --loglevel=INFO --concurrency=2

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: lint browser
	$(BIN)/pytest

# The benchmark (bench/run.py): a table and bench/results.json in under 10 minutes. Needs
# PostgreSQL on 127.0.0.1:5432 (user postgres) for the ledger and pgbench parts; pgbench ships
# with Debian's server package.
bench: install
	@command -v pgbench >/dev/null || { echo "Installing pgbench (postgresql-contrib)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-contrib >/dev/null; }
	$(BIN)/python bench/run.py

# Production serving as docs/production.md describes it (the Procfile's web line): set
# DJANGO_SECRET_KEY, DJANGO_ALLOWED_HOSTS, DATABASE_URL and CELERY_BROKER_URL first.
serve-prod: export DJANGO_SETTINGS_MODULE ?= tokenecon.settings.production
serve-prod: install
	$(MANAGE) migrate --noinput
	$(MANAGE) collectstatic --noinput
	$(BIN)/gunicorn -c gunicorn.conf.py tokenecon.wsgi

clean:
	rm -rf var db.sqlite3 db.sqlite3-wal db.sqlite3-shm staticfiles
