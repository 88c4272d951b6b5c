"""Settings fail loudly: a deployment (DATABASE_URL or REDIS_URL set) refuses to start on the
demo's secret key or without host names; secure-cookie/HSTS/proxy settings come from the
environment. Each case loads config.settings in a fresh interpreter."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROBE = (
    "import django, json; from django.conf import settings; django.setup(); "
    "print(json.dumps([settings.EMBEDDED, settings.SESSION_COOKIE_SECURE, settings.SECURE_HSTS_SECONDS, "
    "settings.SECURE_PROXY_SSL_HEADER, settings.SECRET_KEY == 'kefu-embedded-insecure-key-change-me']))"
)
KEFU_VARS = ("DATABASE_URL", "REDIS_URL", "KEFU_SECRET_KEY", "KEFU_ALLOWED_HOSTS", "KEFU_DEBUG", "KEFU_SECURE_COOKIES",
             "KEFU_HSTS_SECONDS", "KEFU_PROXY_SSL_HEADER", "KEFU_SSL_REDIRECT")


def load_settings(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in KEFU_VARS}
    clean.update(DJANGO_SETTINGS_MODULE="config.settings", **env)
    return subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("service", ["DATABASE_URL", "REDIS_URL"])
def test_a_deployment_without_secret_key_or_hosts_refuses_to_start(service):
    url = "postgresql://postgres@127.0.0.1:5432/kefu" if service == "DATABASE_URL" else "redis://127.0.0.1:6379/8"
    for env, missing in (({}, "KEFU_SECRET_KEY and KEFU_ALLOWED_HOSTS"),
                         ({"KEFU_ALLOWED_HOSTS": "support.example.com"}, "KEFU_SECRET_KEY must"),
                         ({"KEFU_SECRET_KEY": "k" * 60}, "KEFU_ALLOWED_HOSTS must")):
        run = load_settings(**{service: url}, **env)
        assert run.returncode != 0 and "ImproperlyConfigured" in run.stderr and missing in run.stderr, run.stderr


def test_a_deployment_with_both_starts_with_secure_cookies_and_env_https_settings():
    run = load_settings(DATABASE_URL="postgresql://postgres@127.0.0.1:5432/kefu", KEFU_SECRET_KEY="k" * 60,
                        KEFU_ALLOWED_HOSTS="support.example.com", KEFU_HSTS_SECONDS="3600",
                        KEFU_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO")
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == '[false, true, 3600, ["HTTP_X_FORWARDED_PROTO", "https"], false]'


def test_bad_proxy_header_is_refused_and_the_embedded_demo_needs_nothing():
    bad = load_settings(KEFU_PROXY_SSL_HEADER="X-Forwarded-Proto")
    assert bad.returncode != 0 and "KEFU_PROXY_SSL_HEADER" in bad.stderr
    demo = load_settings()
    assert demo.returncode == 0, demo.stderr
    assert demo.stdout.strip() == "[true, false, 0, null, true]"
