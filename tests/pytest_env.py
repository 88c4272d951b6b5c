"""Loaded with `-p tests.pytest_env` (pyproject addopts) before pytest-django reads the
settings: the suite runs with DATABASE_URL/REDIS_URL (production mode), which refuses to start
without a secret key and host names, so give it test values. Subprocesses (uvicorn, Celery
workers, tests/processes.py) inherit them. Cookies stay plain: the tests speak HTTP."""

from __future__ import annotations

import os

os.environ.setdefault("KEFU_SECRET_KEY", "kefu-test-suite-secret-key-not-for-production-0123456789")
os.environ.setdefault("KEFU_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
os.environ.setdefault("KEFU_SECURE_COOKIES", "0")
