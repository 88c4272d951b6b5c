"""Issue 9 #2: a crashed inference worker is recovered, and the visitor is answered
exactly once within 60 s of the restart.

A real Celery worker on the Redis broker answers a widget message; tokens stream to the
visitor's socket over the Redis channel layer. Plumbing test: the analyzer is the
deterministic slow fake (tests/integration/slow_analyzer.py, 30 tokens 0.2 s apart), not
ML behaviour; only the child-kill case loads the real models, because their load time is
the failure.

Before the fix:
- `kill -9` of worker and child: the task sat in Redis `unacked` for the visibility timeout
  (3600 s) and kombu looked for such tasks only every 100 s: no reply for an hour (the test
  timed out). Now the timeout sits just above respond's hard time limit (settings) and
  kombu looks every 5 s.
- `kill -9` of the child only: the replacement child loaded the models (~8 s) inside
  `worker_process_init`, past billiard's 4 s start timeout, and was killed in a loop:
  no reply at all. Now the warm-up runs in a background thread (config/celery.py).
"""

from __future__ import annotations

import os
import signal
import time

import pytest
from channels.db import database_sync_to_async

from chat.models import Message
from tests.faults.conftest import bot_replies, is_bot_message, open_widget_socket, receive_until
from tests.processes import celery_worker

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True), pytest.mark.asyncio]
WORDS = " ".join(f"w{i}" for i in range(30))


def slow_worker_env(markers) -> dict[str, str]:
    return {
        "KEFU_CHAT_ANALYZER": "tests.integration.slow_analyzer.analyze_and_reply",
        "KEFU_TEST_MARKER_DIR": str(markers),
        # respond's hard limit; the broker's visibility timeout follows it (+10 s).
        "KEFU_GENERATOR_TIMEOUT_S": "15",
        "KEFU_RESPOND_TIME_LIMIT_S": "20",
    }


async def send_and_wait_for_tokens(comm, cmid: str) -> int:
    await comm.send_json_to({"type": "message", "body": "Where is my parcel?", "client_msg_id": cmid})
    ack = await receive_until(comm, lambda e: e.get("type") == "ack", 10)
    await receive_until(comm, lambda e: e.get("type") == "chunk" and e.get("text", "").strip() == "w3", 120)
    return ack[-1]["message"]["id"]


async def no_reply_yet(tenant, inbound_id: int) -> bool:
    return await database_sync_to_async(
        lambda: not Message.objects.for_tenant(tenant).filter(reply_to_id=inbound_id).exists()
    )()


async def test_02_worker_kill_answered_once_after_restart(redis_everywhere, team_a, tmp_path):
    markers = tmp_path / "markers"
    markers.mkdir()
    comm = await open_widget_socket(team_a)
    with celery_worker(tmp_path, queues="inference", **slow_worker_env(markers)) as worker:
        inbound_id = await send_and_wait_for_tokens(comm, "k-1")
        worker.kill()  # SIGKILL of the whole process group mid-generation: nothing acked
        assert await no_reply_yet(team_a.tenant, inbound_id)
        worker.start()  # a fresh worker gets the task once its visibility timeout passed
        restarted = time.monotonic()
        events = await receive_until(comm, is_bot_message, 60)
        took = time.monotonic() - restarted
    print(f"answered {took:.1f} s after the restart")
    assert [e for e in events if is_bot_message(e)][-1]["message"]["body"] == WORDS
    assert len(list(markers.iterdir())) >= 2, "the task ran again after the kill"
    assert await bot_replies(team_a.tenant) == [inbound_id]
    await comm.disconnect()


async def test_02_child_kill_recovers(redis_everywhere, team_a, tmp_path):
    markers = tmp_path / "markers"
    markers.mkdir()
    comm = await open_widget_socket(team_a)
    # The real warm-up (encoder + local generator): its load time is what killed children.
    with celery_worker(tmp_path, queues="inference", KEFU_WARM_UP="1", **slow_worker_env(markers)) as worker:
        inbound_id = await send_and_wait_for_tokens(comm, "c-1")
        (first_run,) = markers.iterdir()
        child_pid = int(first_run.name.split("-")[1])
        assert child_pid != worker.proc.pid
        os.kill(child_pid, signal.SIGKILL)  # only the child: the parent requeues its task
        killed = time.monotonic()
        assert await no_reply_yet(team_a.tenant, inbound_id)
        events = await receive_until(comm, is_bot_message, 60)
        took = time.monotonic() - killed
        assert worker.proc.poll() is None, "the worker itself survived"
        log = worker.log_path.read_text()
    print(f"answered {took:.1f} s after the child was killed")
    assert [e for e in events if is_bot_message(e)][-1]["message"]["body"] == WORDS
    assert len(list(markers.iterdir())) == 2, "a replacement child ran the task once more"
    assert "Timed out waiting for UP message" not in log
    assert await bot_replies(team_a.tenant) == [inbound_id]
    await comm.disconnect()
