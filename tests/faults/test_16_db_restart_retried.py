"""Issue 9 #16: a `respond` task that fails with OperationalError because PostgreSQL
restarted is retried with backoff, and the visitor is answered exactly once.

A PostgreSQL restart terminates every client's backend; here the worker's own backends are
terminated with pg_terminate_backend (found by their application_name) while respond is
inside the analyzer, so its next query (storing the reply) fails on the dead connection.
The shared PostgreSQL server is not restarted. Plumbing test: the analyzer is the
deterministic slow fake (tests/integration/slow_analyzer.py), not ML behaviour.

Before the fix the task failed with OperationalError, was acknowledged as failed and never
ran again: no reply (the test timed out). Now respond retries on OperationalError /
InterfaceError (1 s backoff, doubling, jittered) on a fresh connection.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from channels.db import database_sync_to_async
from django.db import connection

from tests.faults.conftest import bot_replies, is_bot_message, open_widget_socket, receive_until
from tests.processes import celery_worker

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True), pytest.mark.asyncio]
APP_NAME = "kefu-fault-16-worker"


def terminate_worker_backends() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = %s",
            [APP_NAME],
        )
        return cursor.fetchone()[0]


async def test_16_respond_retried_after_connections_dropped(redis_everywhere, team_a, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")
    markers = tmp_path / "markers"
    markers.mkdir()
    env = {
        "KEFU_CHAT_ANALYZER": "tests.integration.slow_analyzer.analyze_and_reply",
        "KEFU_TEST_MARKER_DIR": str(markers),
        "PGAPPNAME": APP_NAME,  # libpq names the worker's sessions in pg_stat_activity
    }
    comm = await open_widget_socket(team_a)
    with celery_worker(tmp_path, queues="inference", **env):
        await comm.send_json_to({"type": "message", "body": "Where is my parcel?", "client_msg_id": "db-1"})
        ack = await receive_until(comm, lambda e: e.get("type") == "ack", 10)
        inbound_id = ack[-1]["message"]["id"]
        await receive_until(comm, lambda e: e.get("type") == "chunk" and e.get("text", "").strip() == "w3", 60)
        terminated = await database_sync_to_async(terminate_worker_backends)()
        assert terminated >= 1, "the worker holds a database session mid-task"
        dropped = time.monotonic()
        events = await receive_until(comm, is_bot_message, 45)
        took = time.monotonic() - dropped
        await asyncio.sleep(1)  # a second (duplicate) reply would arrive now
    print(f"answered {took:.1f} s after the worker's connections were dropped")
    assert [e for e in events if is_bot_message(e)][-1]["message"]["body"].startswith("w0 w1")
    assert len(list(markers.iterdir())) == 2, "respond ran again after the failure"
    assert await bot_replies(team_a.tenant) == [inbound_id]
    await comm.disconnect()
