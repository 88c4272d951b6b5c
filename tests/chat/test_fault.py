"""Fault test: 20 simulated visitors send 1,000 messages in all to a running uvicorn
(real Redis channel layer, PostgreSQL) while their sockets are cut at random points.
At the end every message is stored exactly once and every client's view is contiguous.
Bot: the plumbing fake (tests/chat/fake_ml.py), answering in-process."""

from __future__ import annotations

import asyncio
import json
import random

import pytest
from django.db.models import Count

from chat.models import Message
from tenants import services as tenant_services
from tests.processes import uvicorn_server

pytestmark = [pytest.mark.django_db(transaction=True)]

VISITORS, PER_VISITOR = 20, 50
ORIGIN = "https://fault.example"


class Visitor:
    def __init__(self, n: int, url: str, rng: random.Random) -> None:
        self.n, self.url, self.rng = n, url, rng
        self.token = ""
        self.conv: int | None = None
        self.view: dict[int, tuple[int, str]] = {}  # seq -> (message id, sender)
        self.last = 0  # highest contiguous seq
        self.unacked: dict[str, str] = {}
        self.cuts = 0
        # Fault tests that break the database: an `internal` error (then close 1011) means
        # nothing was acked; the widget reconnects and resends, as after a cut.
        self.server_errors_expected = False
        self.refused_handshakes = 0

    def take(self, m: dict) -> bool:
        if self.conv is None:
            self.conv = m["conversation_id"]
        assert m["conversation_id"] == self.conv
        seq = m["seq"]
        if seq in self.view:
            assert self.view[seq][0] == m["id"], "two messages with one seq"
            return True
        if seq != self.last + 1:
            return False  # a gap: ask the database
        self.view[seq] = (m["id"], m["sender"])
        self.last = seq
        return True

    async def session(self, ws, to_send: list[tuple[str, str]]) -> None:
        from websockets.exceptions import ConnectionClosed  # noqa: F401

        await ws.send(json.dumps({"type": "hello", "token": self.token, "resume": [[self.conv, self.last]] if self.conv else []}))
        pending_sync = False
        while True:
            frame = json.loads(await ws.recv())
            t = frame["type"]
            if t == "ready":
                self.token = frame["token"]
                if not self.conv:
                    break
            elif t == "replay":
                for m in frame["messages"]:
                    assert self.take(m)
                break
        for cmid, body in list(self.unacked.items()):  # resend what was never acked
            await ws.send(json.dumps({"type": "message", "client_msg_id": cmid, "body": body, "conversation_id": self.conv}))
        while to_send or self.unacked:
            if to_send and len(self.unacked) < 3:
                cmid, body = to_send.pop(0)
                self.unacked[cmid] = body
                await ws.send(json.dumps({"type": "message", "client_msg_id": cmid, "body": body, "conversation_id": self.conv}))
                if self.rng.random() < 0.06:
                    self.cuts += 1
                    ws.transport.abort()  # cut right after sending: the ack may or may not come
                    raise ConnectionError("cut")
                continue
            frame = json.loads(await asyncio.wait_for(ws.recv(), 20))
            t = frame["type"]
            if t == "ack":
                self.unacked.pop(frame["client_msg_id"], None)
                if not self.take(frame["message"]) and not pending_sync:
                    pending_sync = True
                    await ws.send(json.dumps({"type": "sync", "conversation_id": self.conv, "after_seq": self.last}))
            elif t == "message":
                if not self.take(frame["message"]) and not pending_sync:
                    pending_sync = True
                    await ws.send(json.dumps({"type": "sync", "conversation_id": self.conv, "after_seq": self.last}))
            elif t == "replay":
                pending_sync = False
                for m in frame["messages"]:
                    self.take(m)
            elif t == "error":
                if self.server_errors_expected and frame.get("code") == "internal":
                    raise ConnectionError("server error: reconnect and resend")  # the server closes 1011 next
                raise AssertionError(frame)
            if self.rng.random() < 0.01:
                self.cuts += 1
                ws.transport.abort()  # cut while waiting
                raise ConnectionError("cut")

    async def run(self) -> None:
        from websockets.asyncio.client import connect

        to_send = [(f"v{self.n}-m{i}", f"visitor {self.n} message {i}") for i in range(PER_VISITOR)]
        while to_send or self.unacked:
            try:
                async with connect(self.url, origin=ORIGIN, open_timeout=20) as ws:
                    await self.session(ws, to_send)
            except (TimeoutError, ConnectionError, OSError) as exc:
                if isinstance(exc, asyncio.TimeoutError):
                    raise
                await asyncio.sleep(self.rng.uniform(0.01, 0.1))
            except Exception as exc:  # websockets.ConnectionClosed and friends
                if type(exc).__name__.startswith("ConnectionClosed"):
                    await asyncio.sleep(self.rng.uniform(0.01, 0.1))
                    continue
                status = getattr(getattr(exc, "response", None), "status_code", 0)
                if self.server_errors_expected and status >= 500:  # handshake on a dead connection
                    self.refused_handshakes += 1
                    await asyncio.sleep(self.rng.uniform(0.05, 0.2))
                    continue
                raise

    async def final_sync(self) -> None:
        """Let the bot finish, then one last resume: the view must equal the database."""
        from websockets.asyncio.client import connect

        async with connect(self.url, origin=ORIGIN) as ws:
            await ws.send(json.dumps({"type": "hello", "token": self.token, "resume": [[self.conv, self.last]]}))
            while True:
                frame = json.loads(await asyncio.wait_for(ws.recv(), 20))
                if frame["type"] == "replay":
                    for m in frame["messages"]:
                        assert self.take(m)
                    if frame["complete"]:
                        return
                    await ws.send(json.dumps({"type": "sync", "conversation_id": self.conv, "after_seq": self.last}))


def test_cut_sockets_lose_and_duplicate_nothing(team_a, tmp_path, monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "1")
    widget, _secret = tenant_services.create_widget(actor=team_a.owner, name="Fault", allowed_origins=ORIGIN)
    with uvicorn_server(
        tmp_path,
        DJANGO_SETTINGS_MODULE="tests.chat.live_settings",
        KEFU_TASK_MODE="inprocess",
        KEFU_VISITOR_MESSAGES_PER_MINUTE="100000",
        KEFU_WIDGET_MESSAGES_PER_MINUTE="1000000",
        KEFU_IP_MESSAGES_PER_MINUTE="0",  # all 20 visitors come from 127.0.0.1
        KEFU_DB_CONN_MAX_AGE="60",
    ) as base:
        url = base.replace("http", "ws") + f"/ws/widget/{widget.public_key}/"
        rng = random.Random(1234)
        visitors = [Visitor(i, url, random.Random(rng.random())) for i in range(VISITORS)]

        async def main() -> None:
            await asyncio.wait_for(asyncio.gather(*(v.run() for v in visitors)), 180)
            # Wait for the in-flight bot replies: each conversation ends with the bot's answer.
            for _ in range(300):
                last = [
                    Message.objects.for_tenant(team_a.tenant).filter(conversation_id=v.conv).order_by("-seq").values_list("sender", flat=True).first()
                    for v in visitors
                ]
                if all(s == "bot" for s in last):
                    break
                await asyncio.sleep(0.1)
            await asyncio.gather(*(v.final_sync() for v in visitors))

        asyncio.run(main())

    tenant = team_a.tenant
    visitor_msgs = Message.objects.for_tenant(tenant).filter(sender="visitor")
    assert visitor_msgs.count() == VISITORS * PER_VISITOR
    assert not visitor_msgs.values("client_msg_id").annotate(n=Count("id")).filter(n__gt=1).exists()
    assert sum(v.cuts for v in visitors) >= 20, "the test must actually cut sockets"
    for v in visitors:
        rows = list(Message.objects.for_tenant(tenant).filter(conversation_id=v.conv).order_by("seq").values_list("seq", "id", "sender"))
        assert [r[0] for r in rows] == list(range(1, len(rows) + 1)), "database seqs contiguous"
        assert sorted(v.view) == list(range(1, len(rows) + 1)), f"visitor {v.n}: view has a gap"
        assert [(s, *v.view[s]) for s in sorted(v.view)] == rows, f"visitor {v.n}: view differs from the database"
        mine = {cmid for cmid, in Message.objects.for_tenant(tenant).filter(conversation_id=v.conv, sender="visitor").values_list("client_msg_id")}
        assert mine == {f"v{v.n}-m{i}" for i in range(PER_VISITOR)}
