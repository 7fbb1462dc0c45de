# What people type. Every target installs what it needs into .venv first.
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
ITEMS ?= 20000
SESSIONS ?= 1500
PORT ?= 8000
ML_ENV := VAR_DIR=$(CURDIR)/var/movielens TRAINING_WINDOW_DAYS=365
PG_URL ?= postgres://postgres@127.0.0.1:5432/controlplane
SERVICES_ENV := DATABASE_URL=$(PG_URL) REDIS_URL=redis://127.0.0.1:6379/0 CELERY_BROKER_URL=redis://127.0.0.1:6379/1

.PHONY: movielens install install-bench demo demo-movielens serve test test-embedded test-services lint bench bench-peak soak services-up web worker beat clean

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -r requirements-dev.txt
	touch $@

demo: install
	$(PY) manage.py migrate --noinput -v0
	$(PY) manage.py seed_demo --items $(ITEMS)
	$(PY) manage.py simulate_traffic --sessions $(SESSIONS) --port $(PORT)
	$(PY) manage.py demo_users --port $(PORT)
	$(PY) manage.py runserver 127.0.0.1:$(PORT) --noreload

# MovieLens-100k as a shop through the same doors as a real one, in its own database (var/movielens).
demo-movielens: movielens
	$(PY) -m reco_runtime.movielens_shop var/ml-100k var/movielens/shop
	$(ML_ENV) $(PY) manage.py migrate --noinput -v0
	$(ML_ENV) $(PY) manage.py import_catalog var/movielens/shop/catalog.jsonl --full
	$(ML_ENV) $(PY) manage.py import_interactions var/movielens/shop/interactions.csv
	$(ML_ENV) $(PY) manage.py train_models
	$(ML_ENV) $(PY) manage.py demo_users --port $(PORT)
	$(ML_ENV) $(PY) manage.py runserver 127.0.0.1:$(PORT) --noreload

serve: install
	$(PY) manage.py runserver 127.0.0.1:8000

test: lint test-embedded test-services

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy
	$(PY) manage.py makemigrations --check --dry-run -v0

test-embedded: install
	env -u DATABASE_URL -u REDIS_URL -u CELERY_BROKER_URL $(PY) -m pytest -q -n 2 -m "not services"

# Skipped (with a message) when PostgreSQL or Redis is not running, unless REQUIRE_SERVICES=1.
test-services: install
	@if $(PY) bin/services_ready.py "$(PG_URL)"; then \
		$(SERVICES_ENV) CELERY_QUEUE=test-$$$$ $(PY) -m pytest -q -n 2; \
	elif [ "$$REQUIRE_SERVICES" = "1" ]; then echo "services required but not reachable"; exit 1; \
	else echo "PostgreSQL/Redis not reachable: services tests not run (see README)"; fi

movielens: install
	test -f var/ml-100k/u.data || $(PY) -m reco_runtime.movielens_fetch var/ml-100k

# Benchmarks (bench/README.md): the app's and tests' packages plus requirements-bench.txt.
install-bench: $(VENV)/.installed-bench

$(VENV)/.installed-bench: $(VENV)/.installed requirements-bench.txt
	$(VENV)/bin/pip install -q -r requirements-bench.txt
	touch $@

bench: install-bench
	$(PY) -m bench.bench_http

# 100k items, shoppers with signals, events alongside, open loop, COPY baseline, posterior lag (~8 min).
bench-peak: install-bench
	$(PY) -m bench.bench_peak --items 100000

# One hour at a fixed rate on what bench-peak seeded; memory and p99 per minute, with a chart.
soak: install-bench
	$(PY) -m bench.bench_soak --skip-seed --minutes 60 --ingest-workers 2

services-up:
	pg_isready -h 127.0.0.1 -q || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start
	redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 || redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 \
		--save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log

# Services mode, one process each (see Procfile).
web: install
	$(SERVICES_ENV) $(VENV)/bin/gunicorn controlplane.wsgi -b 127.0.0.1:8000
worker: install
	$(SERVICES_ENV) $(VENV)/bin/celery -A controlplane worker -c 2 --loglevel INFO
beat: install
	$(SERVICES_ENV) $(VENV)/bin/celery -A controlplane beat --loglevel INFO -s var/celerybeat-schedule

clean:
	rm -rf var/db.sqlite3 var/models var/demo_world.json
