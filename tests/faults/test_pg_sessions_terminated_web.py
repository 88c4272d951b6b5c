"""Issue 14: PostgreSQL drops the chat server's connections mid-run (pg_terminate_backend on
the uvicorn process's sessions, found by application_name, all at once every ~2 s, like a restart; the shared server
is never restarted). 20 visitors send 1,000 messages over sockets that are also cut at
random points. Every acked message is stored exactly once; a message whose frame failed
on a dead connection was not acked (error `internal`, close 1011) and the client resent it:
stored once too, and every client's view equals the database.
Bot: the plumbing fake (tests/chat/fake_ml.py), answering in-process."""

from __future__ import annotations

import asyncio
import random

import psycopg
import pytest
from django.db.models import Count

from chat.models import Message
from tenants import services as tenant_services
from tests import processes
from tests.chat.test_fault import ORIGIN, PER_VISITOR, VISITORS, Visitor
from tests.processes import uvicorn_server

pytestmark = [pytest.mark.django_db(transaction=True)]
APP_NAME = "kefu-fault-14-web"
# A restart-like event every ~2 s (every session of the server at once).
KILL_EVERY_S = 2.0


async def terminate_sessions(stop: asyncio.Event) -> int:
    """Kill the server's database sessions until stopped; returns how many were killed."""
    killed = 0
    async with await psycopg.AsyncConnection.connect(processes.test_database_url(), autocommit=True) as conn:
        while not stop.is_set():
            await asyncio.sleep(random.uniform(KILL_EVERY_S * 0.5, KILL_EVERY_S * 1.5))
            cur = await conn.execute(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND application_name = %s",
                [APP_NAME],
            )
            row = await cur.fetchone()
            killed += row[0] if row else 0
    return killed


def test_terminated_sessions_lose_and_duplicate_nothing(team_a, tmp_path, monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "1")
    widget, _secret = tenant_services.create_widget(actor=team_a.owner, name="Fault 14", allowed_origins=ORIGIN)
    with uvicorn_server(
        tmp_path,
        DJANGO_SETTINGS_MODULE="tests.chat.live_settings",
        KEFU_DB_POOL="1",
        PGAPPNAME=APP_NAME,
        KEFU_TASK_MODE="inprocess",
        KEFU_VISITOR_MESSAGES_PER_MINUTE="100000",
        KEFU_WIDGET_MESSAGES_PER_MINUTE="1000000",
        KEFU_IP_MESSAGES_PER_MINUTE="0",  # all 20 visitors come from 127.0.0.1
    ) as base:
        url = base.replace("http", "ws") + f"/ws/widget/{widget.public_key}/"
        rng = random.Random(1414)
        visitors = [Visitor(i, url, random.Random(rng.random())) for i in range(VISITORS)]
        for v in visitors:
            v.server_errors_expected = True

        async def main() -> int:
            stop = asyncio.Event()
            killer = asyncio.create_task(terminate_sessions(stop))
            await asyncio.wait_for(asyncio.gather(*(v.run() for v in visitors)), 240)
            stop.set()
            killed = await killer
            for _ in range(300):  # the in-flight bot replies: each conversation ends with the bot's
                last = [
                    Message.objects.for_tenant(team_a.tenant).filter(conversation_id=v.conv).order_by("-seq").values_list("sender", flat=True).first()
                    for v in visitors
                ]
                if all(s == "bot" for s in last):
                    break
                await asyncio.sleep(0.1)
            await asyncio.gather(*(v.final_sync() for v in visitors))
            return killed

        killed = asyncio.run(main())
        log = (tmp_path / "uvicorn.log").read_text()

    tenant = team_a.tenant
    refused = sum(v.refused_handshakes for v in visitors)
    print(f"killed {killed} sessions; {log.count('socket frame')} frames failed on a dead connection; "
          f"{refused} handshakes answered 5xx (the client retried)")
    assert killed >= 5, "the test must actually terminate the server's sessions"
    visitor_msgs = Message.objects.for_tenant(tenant).filter(sender="visitor")
    assert visitor_msgs.count() == VISITORS * PER_VISITOR
    assert not visitor_msgs.values("client_msg_id").annotate(n=Count("id")).filter(n__gt=1).exists()
    for v in visitors:
        rows = list(Message.objects.for_tenant(tenant).filter(conversation_id=v.conv).order_by("seq").values_list("seq", "id", "sender"))
        assert [r[0] for r in rows] == list(range(1, len(rows) + 1)), "database seqs contiguous"
        assert [(s, *v.view[s]) for s in sorted(v.view)] == rows, f"visitor {v.n}: view differs from the database"
        mine = {cmid for cmid, in Message.objects.for_tenant(tenant).filter(conversation_id=v.conv, sender="visitor").values_list("client_msg_id")}
        assert mine == {f"v{v.n}-m{i}" for i in range(PER_VISITOR)}
