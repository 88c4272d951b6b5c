"""Issue 9 #10: the visitor rate limit was bypassed. Every fresh socket without a token
created a contact (200 in 13.5 s), 10 sockets x 30 messages from one address were all
accepted (the limit was per visitor only), and the counters lived in each process.

Now chat.ratelimit keeps the counters in Redis, shared by every server process: messages
per visitor, per address and per widget, and new visitors (contacts) per address and per
widget. Two real uvicorn processes (Redis channel layer, PostgreSQL) serve the sockets
alternately; the bot is the plumbing fake (tests/chat/fake_ml.py) answering in-process."""

from __future__ import annotations

import asyncio
import json
import uuid
from contextlib import ExitStack

import pytest

from chat.models import Contact, Message
from tenants import services as tenant_services
from tests.processes import uvicorn_server
from tests.security.sockets import ws_frames_until

pytestmark = [pytest.mark.django_db(transaction=True)]

ORIGIN = "https://limits.example"
SOCKETS, PER_SOCKET = 10, 30
IP_MESSAGES_PER_MINUTE = 100  # < 10 x 30, and > 300 / 2: a per-process counter would let 200 through
IP_NEW_VISITORS = 12


async def _hello(url: str, token: str = "") -> tuple[object, dict]:
    from websockets.asyncio.client import connect

    ws = await connect(url, origin=ORIGIN)
    await ws.send(json.dumps({"type": "hello", "token": token}))
    return ws, json.loads(await asyncio.wait_for(ws.recv(), 20))


async def _flood(ws, n: int) -> dict[str, list[str]]:
    """Send PER_SOCKET messages without waiting, then collect an answer for each."""
    cmids = [f"s{n}-m{i}" for i in range(PER_SOCKET)]
    for i, cmid in enumerate(cmids):
        await ws.send(json.dumps({"type": "message", "client_msg_id": cmid, "body": f"message {i}"}))
    outcome: dict[str, list[str]] = {"acked": [], "refused": []}
    while len(outcome["acked"]) + len(outcome["refused"]) < PER_SOCKET:
        got = json.loads(await asyncio.wait_for(ws.recv(), 30))
        if got["type"] == "ack":
            outcome["acked"].append(got["client_msg_id"])
        elif got["type"] == "error":
            assert got["code"] == "rate_limited" and got["ref"] in cmids, got
            outcome["refused"].append(got["ref"])
    # Refused, not dropped: the socket is still open and answers.
    await ws.send(json.dumps({"type": "ping", "ref": "still-open"}))
    assert (await ws_frames_until(ws, "pong"))["ref"] == "still-open"
    return outcome


def test_10_limits_per_address_shared_by_two_processes(team_a, tmp_path, monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "1")
    widget, _secret = tenant_services.create_widget(actor=team_a.owner, name="Limits", allowed_origins=ORIGIN)
    env = {
        "DJANGO_SETTINGS_MODULE": "tests.chat.live_settings",
        "KEFU_TASK_MODE": "inprocess",
        "KEFU_RATELIMIT_PREFIX": f"kefu:rl:test:{uuid.uuid4().hex}:",
        "KEFU_VISITOR_MESSAGES_PER_MINUTE": str(PER_SOCKET),
        "KEFU_IP_MESSAGES_PER_MINUTE": str(IP_MESSAGES_PER_MINUTE),
        "KEFU_IP_NEW_VISITORS_PER_HOUR": str(IP_NEW_VISITORS),
    }
    with ExitStack() as stack:
        servers = []
        for n in range(2):
            (tmp_path / f"s{n}").mkdir()
            servers.append(stack.enter_context(uvicorn_server(tmp_path / f"s{n}", **env)))
        urls = [base.replace("http", "ws") + f"/ws/widget/{widget.public_key}/" for base in servers]

        async def main() -> tuple[list[dict[str, list[str]]], list[dict], str]:
            opened = [await _hello(urls[i % 2]) for i in range(SOCKETS)]
            assert all(ready["type"] == "ready" for _ws, ready in opened)
            outcomes = await asyncio.gather(*(_flood(ws, i) for i, (ws, _r) in enumerate(opened)))
            # New visitors from this address: the cap counts across both processes.
            later = []
            for i in range(4):
                ws, first = await _hello(urls[i % 2])
                close_code = None
                if first["type"] == "error":
                    await ws.wait_closed()
                    close_code = ws.close_code
                later.append({"first": first, "close": close_code})
                await ws.close()
            # A returning visitor (token) is not a new contact and still gets in.
            ws, back = await _hello(urls[1], token=opened[0][1]["token"])
            for w, _r in opened:
                await w.close()
            await ws.close()
            return list(outcomes), later, back["type"]

        outcomes, later, returning = asyncio.run(main())

    acked = [c for o in outcomes for c in o["acked"]]
    refused = [c for o in outcomes for c in o["refused"]]
    assert len(acked) == IP_MESSAGES_PER_MINUTE, f"{len(acked)} accepted: the counter is not shared"
    assert len(refused) == SOCKETS * PER_SOCKET - IP_MESSAGES_PER_MINUTE
    stored = Message.objects.for_tenant(team_a.tenant).filter(sender="visitor")
    assert sorted(stored.values_list("client_msg_id", flat=True)) == sorted(acked), "refused messages stored nothing"
    # 10 contacts from the flood + 2 more, then the cap: error rate_limited and close 4429.
    assert [x["first"]["type"] for x in later] == ["ready", "ready", "error", "error"]
    assert all(x["first"]["code"] == "rate_limited" and x["close"] == 4429 for x in later[2:])
    assert Contact.objects.for_tenant(team_a.tenant).count() == IP_NEW_VISITORS
    assert returning == "ready"


def test_10_redis_outage_lets_visitors_through(settings, caplog):
    """Fail open: no Redis means no limits (one log line), not a refused or stalled chat."""
    from chat import ratelimit

    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    ratelimit._redis_down_until = 0.0
    try:
        limits = [ratelimit.Limit("v:1", 1)]
        assert ratelimit.allow(limits) is None
        assert ratelimit.allow(limits) is None  # within REDIS_RETRY_S: Redis not even asked
        logged = [r.getMessage() for r in caplog.records if r.name == "chat.ratelimit"]
        assert len(logged) == 1 and "Redis unavailable" in logged[0]
    finally:
        ratelimit._redis_down_until = 0.0
