"""Issue 9 #6: a Redis outage of 10 s loses no reply, and sockets opened before it keep
working after it.

The whole stack runs on a Redis server of the test's own (a free port, never the shared
one): uvicorn (sockets, Redis pub/sub channel layer) and a Celery worker with beat inside
it (broker, outbox sweep every second). A visitor connected before the outage sends one
message while Redis is down and one after it is back, on the same socket. Plumbing test:
the analyzer is the deterministic fake (tests/chat/fake_ml.py), not ML behaviour.

Before the fix the message sent during the outage was committed, then `apply_async` in the
on-commit hook raised, the socket dropped without an ack, and the widget's resend got
`ack duplicate:true` with no task ever enqueued: never answered (the test failed at the
ack). Now the respond job is an outbox row committed with the message; the kick's broker
error only delays it (backoff) and beat's sweep sends it once Redis is back. Channel-layer
sends are best effort, so the socket survives the outage and its first publish after it.
"""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from chat.models import Message
from tenants import services as tenant_services
from tests.faults.conftest import ORIGIN
from tests.processes import celery_worker, uvicorn_server

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]
OUTAGE_S = 10


async def until(ws, predicate, timeout: float, what: str) -> dict:
    deadline = time.monotonic() + timeout
    seen: list[str] = []
    while time.monotonic() < deadline:
        try:
            frame = json.loads(await asyncio.wait_for(ws.recv(), deadline - time.monotonic()))
        except TimeoutError:
            break
        seen.append(frame["type"])
        if predicate(frame):
            return frame
    raise AssertionError(f"no {what} within {timeout} s; saw {seen}")


def reply_to(message_id: int):
    return lambda f: f["type"] == "message" and f["message"]["sender"] == "bot" and f["message"]["reply_to"] == message_id


async def send(ws, cmid: str, body: str, conversation_id: int | None = None) -> dict:
    await ws.send(json.dumps({"type": "message", "client_msg_id": cmid, "body": body, "conversation_id": conversation_id}))
    return await until(ws, lambda f: f["type"] == "ack" and f["client_msg_id"] == cmid, 15, f"ack of {cmid}")


async def visitor_through_an_outage(url: str, redis) -> dict[str, float]:
    from websockets.asyncio.client import connect

    timings: dict[str, float] = {}
    async with connect(url, origin=ORIGIN, open_timeout=20) as ws:
        await ws.send(json.dumps({"type": "hello"}))
        await until(ws, lambda f: f["type"] == "ready", 10, "ready")
        first = await send(ws, "o-1", "hello before")
        await until(ws, reply_to(first["message"]["id"]), 30, "reply before the outage")
        conv = first["conversation"]["id"]

        redis.stop()
        down = time.monotonic()
        during = await send(ws, "o-2", "hello during", conv)  # committed and acked while Redis is down
        assert not during["duplicate"]
        await asyncio.sleep(max(0.0, OUTAGE_S - (time.monotonic() - down)))
        redis.start()
        back = time.monotonic()
        await until(ws, reply_to(during["message"]["id"]), 60, "reply to the message sent during the outage")
        timings["reply_after_redis_back_s"] = time.monotonic() - back

        after = await send(ws, "o-3", "hello after", conv)  # the socket's first publish after the restart
        started = time.monotonic()
        await until(ws, reply_to(after["message"]["id"]), 30, "reply after the outage")
        timings["reply_after_restart_s"] = time.monotonic() - started
    return timings


def test_06_redis_outage_loses_no_reply(team_a, own_redis, tmp_path):
    widget, _secret = tenant_services.create_widget(actor=team_a.owner, name="Outage", allowed_origins=ORIGIN)
    env = {
        "REDIS_URL": own_redis.url,
        "KEFU_CHAT_ANALYZER": "tests.chat.fake_ml.analyze_and_reply",
        "KEFU_OUTBOX_SWEEP_S": "1",
    }
    with celery_worker(tmp_path, queues="inference,default", beat=True, **env), uvicorn_server(tmp_path, **env) as base:
        url = base.replace("http", "ws") + f"/ws/widget/{widget.public_key}/"
        timings = asyncio.run(visitor_through_an_outage(url, own_redis))
    print({k: round(v, 1) for k, v in timings.items()})
    inbound = list(Message.objects.for_tenant(team_a.tenant).filter(sender="visitor").order_by("id").values_list("id", flat=True))
    replies = list(Message.objects.for_tenant(team_a.tenant).filter(sender="bot").order_by("id").values_list("reply_to_id", flat=True))
    assert len(inbound) == 3
    assert replies == inbound, "exactly one bot reply per visitor message"
