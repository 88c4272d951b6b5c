"""Smoke test of the embedded default (SQLite, in-memory channel layer, tasks in the
server's thread pool). `make test` runs it in a second pytest pass without DATABASE_URL
and REDIS_URL."""

import threading

import pytest
from celery import shared_task
from django.conf import settings

from tenants.dispatch import enqueue

pytestmark = [pytest.mark.embedded]

_ran = threading.Event()
_seen: list[tuple[int, str]] = []


@shared_task(name="tests.embedded_probe")
def embedded_probe(value: int) -> None:
    _seen.append((value, threading.current_thread().name))
    _ran.set()


@pytest.fixture(autouse=True)
def _embedded_only():
    if not settings.EMBEDDED:
        pytest.skip("runs only on the embedded default (no DATABASE_URL)")


def test_embedded_settings_need_no_services():
    assert settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
    assert settings.CHANNEL_LAYERS["default"]["BACKEND"] == "channels.layers.InMemoryChannelLayer"
    assert settings.KEFU_TASK_MODE == "inprocess"


@pytest.mark.django_db(transaction=True)
def test_tasks_run_in_the_server_thread_pool_after_commit():
    from django.db import transaction

    with transaction.atomic():
        enqueue(embedded_probe, 7)
        assert not _ran.is_set()  # not before the commit
    assert _ran.wait(10)
    assert _seen[0][0] == 7 and _seen[0][1].startswith("kefu-task")


@pytest.mark.django_db
def test_sign_up_and_portal_on_sqlite(client):
    response = client.post(
        "/signup/",
        {"email": "demo@shop.example", "password": "long-enough-9", "business_name": "Embedded Shop"},
    )
    assert response.status_code == 302
    assert client.get(response["Location"]).status_code == 200
    assert client.get("/login/").status_code == 302  # already logged in: sent on
