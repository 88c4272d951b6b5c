"""A real Celery worker on the Redis broker answers a widget message: tokens stream to the
visitor's socket over the Redis channel layer; a `kill -9` of the worker mid-generation,
then a fresh worker, still ends with exactly one bot reply stored and delivered.

Uses a deterministic slow analyzer (tests/integration/slow_analyzer.py): this is a
plumbing test of queues, streaming and redelivery, not of ML behaviour."""

from __future__ import annotations

import time

import pytest
from channels.db import database_sync_to_async
from channels.testing.websocket import WebsocketCommunicator

from chat.models import Message
from config.asgi import application
from config.celery import app as celery_app
from tenants import services as tenant_services
from tests.processes import celery_worker

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True), pytest.mark.asyncio]
ORIGIN = "https://shop.example"


@pytest.fixture
def redis_everywhere(settings):
    if not settings.REDIS_URL:
        pytest.skip("needs REDIS_URL (make test sets it)")
    from channels.layers import channel_layers

    settings.KEFU_TASK_MODE = "celery"
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer", "CONFIG": {"hosts": [settings.REDIS_URL]}}
    }
    channel_layers.backends.clear()
    celery_app.control.purge()
    yield
    channel_layers.backends.clear()


async def receive_until(comm, predicate, timeout: float) -> list[dict]:
    seen: list[dict] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            event = await comm.receive_json_from(timeout=max(0.1, deadline - time.monotonic()))
        except TimeoutError:
            break
        seen.append(event)
        if predicate(event):
            return seen
    raise AssertionError(f"timed out; saw {[e.get('type') for e in seen]}")


def is_bot_message(event: dict) -> bool:
    return event.get("type") == "message" and event.get("message", {}).get("sender") == "bot"


async def test_streamed_reply_survives_a_killed_worker(redis_everywhere, team_a, tmp_path):
    widget, _secret = await database_sync_to_async(tenant_services.create_widget)(
        actor=team_a.owner, name="Shop", allowed_origins=ORIGIN
    )
    markers = tmp_path / "markers"
    markers.mkdir()
    env = {
        "KEFU_CHAT_ANALYZER": "tests.integration.slow_analyzer.analyze_and_reply",
        "KEFU_TEST_MARKER_DIR": str(markers),
        # Redelivery of an unacknowledged task after the worker died: seconds, not an hour.
        "KEFU_BROKER_VISIBILITY_TIMEOUT": "4",
    }
    comm = WebsocketCommunicator(application, f"/ws/widget/{widget.public_key}/", headers=[(b"origin", ORIGIN.encode())])
    assert (await comm.connect())[0]
    await comm.send_json_to({"type": "hello"})
    assert (await comm.receive_json_from(timeout=5))["type"] == "ready"

    with celery_worker(tmp_path, queues="inference", **env) as worker:
        await comm.send_json_to({"type": "message", "body": "Where is my parcel?", "client_msg_id": "k-1"})
        ack = await receive_until(comm, lambda e: e.get("type") == "ack", 10)
        inbound_id = ack[-1]["message"]["id"]
        # Tokens stream over the Redis channel layer while the worker generates.
        await receive_until(comm, lambda e: e.get("type") == "chunk" and e.get("text", "").strip() == "w3", 120)
        worker.kill()  # SIGKILL mid-generation: no ack was sent to the broker
        assert await database_sync_to_async(
            lambda: Message.objects.for_tenant(team_a.tenant).filter(reply_to_id=inbound_id).count()
        )() == 0
        worker.start()  # a fresh worker gets the redelivered task
        events = await receive_until(comm, is_bot_message, 180)

    final = [e for e in events if is_bot_message(e)][-1]["message"]
    assert final["body"] == " ".join(f"w{i}" for i in range(30))
    assert len(list(markers.iterdir())) >= 2, "the task ran again after the kill"
    bot_rows = await database_sync_to_async(
        lambda: list(Message.objects.for_tenant(team_a.tenant).filter(sender="bot").values_list("reply_to_id", flat=True))
    )()
    assert bot_rows == [inbound_id]
    await comm.disconnect()
