"""Issue 9 #4: exactly-once broke under concurrency. 20 sockets of one visitor each sending
a first message without `conversation_id` at the same moment created 8 conversations, the
same client_msg_id was stored 8 times and the bot was asked 8 times.

Now open-or-create runs under a lock on the visitor (contact) row and client_msg_id is
unique per visitor in the database. Against a real uvicorn (Redis channel layer,
PostgreSQL); the bot is the plumbing fake (tests/chat/fake_ml.py) answering in-process,
so "asked once" shows as exactly one bot reply."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import pytest

from chat.models import Conversation, Message, ReportingEvent
from tenants import services as tenant_services
from tests.processes import uvicorn_server
from tests.security.sockets import bot_calls, socket_settings, ws_frames_until  # noqa: F401 - fixtures

pytestmark = [pytest.mark.django_db(transaction=True)]

ORIGIN = "https://tabs.example"
TABS = 20


async def _tabs(url: str) -> tuple[str, list]:
    """One visitor (one token) with TABS open sockets, each past its hello."""
    from websockets.asyncio.client import connect

    async with connect(url, origin=ORIGIN) as first:
        await first.send(json.dumps({"type": "hello"}))
        token = (await ws_frames_until(first, "ready"))["token"]
    # max_queue=None: the bot's fan-out to every tab is read, not left blocking the close.
    tabs = [await connect(url, origin=ORIGIN, max_queue=None) for _ in range(TABS)]
    for ws in tabs:
        await ws.send(json.dumps({"type": "hello", "token": token}))
        assert (await ws_frames_until(ws, "ready"))["conversations"] == []
    return token, tabs


async def _all_at_once(tabs: list, cmid_of) -> list[dict]:
    frames = [json.dumps({"type": "message", "client_msg_id": cmid_of(i), "body": "where is my parcel?"}) for i in range(TABS)]
    await asyncio.gather(*(ws.send(f) for ws, f in zip(tabs, frames, strict=True)))
    acks = await asyncio.gather(*(ws_frames_until(ws, "ack") for ws in tabs))
    await asyncio.gather(*(ws.close() for ws in tabs))
    return list(acks)


def _wait_for_bot(tenant, conversation_id: int, replies: int, timeout: float = 30) -> list[Message]:
    deadline = time.monotonic() + timeout
    while True:
        bot = list(Message.objects.for_tenant(tenant).filter(conversation_id=conversation_id, sender="bot"))
        if len(bot) >= replies or time.monotonic() > deadline:
            time.sleep(1)  # a second (wrong) reply would have landed by now
            return list(Message.objects.for_tenant(tenant).filter(conversation_id=conversation_id, sender="bot"))
        time.sleep(0.1)


def test_04_twenty_tabs_first_message_one_conversation(team_a, tmp_path, monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "1")
    tenant = team_a.tenant
    widget, _secret = tenant_services.create_widget(actor=team_a.owner, name="Tabs", allowed_origins=ORIGIN)
    with uvicorn_server(
        tmp_path,
        DJANGO_SETTINGS_MODULE="tests.chat.live_settings",
        KEFU_TASK_MODE="inprocess",
        KEFU_RATELIMIT_PREFIX=f"kefu:rl:test:{uuid.uuid4().hex}:",
        KEFU_VISITOR_MESSAGES_PER_MINUTE="0",
        KEFU_IP_MESSAGES_PER_MINUTE="0",
        KEFU_IP_NEW_VISITORS_PER_HOUR="0",
    ) as base:
        url = base.replace("http", "ws") + f"/ws/widget/{widget.public_key}/"

        async def same_cmid() -> list[dict]:
            _token, tabs = await _tabs(url)
            return await _all_at_once(tabs, lambda i: "first-message")

        async def own_cmids() -> list[dict]:
            _token, tabs = await _tabs(url)
            return await _all_at_once(tabs, lambda i: f"tab-{i}")

        # The same client_msg_id from every tab (a resend storm): stored once, one conversation.
        acks = asyncio.run(same_cmid())
        assert len({a["conversation"]["id"] for a in acks}) == 1
        assert len({a["message"]["id"] for a in acks}) == 1
        assert sorted(a["duplicate"] for a in acks) == [False] + [True] * (TABS - 1)
        conv_id = acks[0]["conversation"]["id"]
        contact_id = Conversation.objects.for_tenant(tenant).get(pk=conv_id).contact_id
        assert Conversation.objects.for_tenant(tenant).filter(contact_id=contact_id).count() == 1
        stored = Message.objects.for_tenant(tenant).filter(sender="visitor", client_msg_id="first-message")
        assert stored.count() == 1
        events = ReportingEvent.objects.for_tenant(tenant).filter(conversation_id=conv_id)
        assert events.filter(kind="conversation_created").count() == 1
        assert events.filter(kind="visitor_message").count() == 1
        replies = _wait_for_bot(tenant, conv_id, 1)
        assert [m.reply_to_id for m in replies] == [stored.get().pk], "the bot answers once"

        # Different client_msg_ids from every tab: one conversation holding all 20 (the
        # bot's replies interleave), seqs contiguous.
        acks = asyncio.run(own_cmids())
        assert len({a["conversation"]["id"] for a in acks}) == 1
        assert not any(a["duplicate"] for a in acks)
        conv_id = acks[0]["conversation"]["id"]
        contact_id = Conversation.objects.for_tenant(tenant).get(pk=conv_id).contact_id
        assert Conversation.objects.for_tenant(tenant).filter(contact_id=contact_id).count() == 1
        rows = list(Message.objects.for_tenant(tenant).filter(conversation_id=conv_id).values_list("seq", "sender"))
        assert sorted(seq for seq, _s in rows) == list(range(1, len(rows) + 1))
        assert sum(1 for _seq, sender in rows if sender == "visitor") == TABS


def test_04_client_msg_id_unique_per_visitor_across_conversations(team_a, socket_settings, bot_calls):  # noqa: F811
    """A resend naming another (open) conversation of the same visitor stores nothing new."""
    from chat import services

    widget, _secret = tenant_services.create_widget(actor=team_a.owner, name="Resend", allowed_origins=ORIGIN)
    visitor = services.resolve_visitor(widget=widget)
    first = services.send_visitor_message(contact=visitor, body="hello", client_msg_id="m-1")
    services.resolve(actor=team_a.agent, conversation_id=first.conversation.pk)
    second = services.send_visitor_message(contact=visitor, body="again", client_msg_id="m-2")
    assert second.conversation.pk != first.conversation.pk
    resend = services.send_visitor_message(
        contact=visitor, body="hello", client_msg_id="m-1", conversation_id=second.conversation.pk
    )
    assert (resend.duplicate, resend.message.pk) == (True, first.message.pk)
    assert Message.objects.for_tenant(team_a.tenant).filter(client_msg_id="m-1").count() == 1
    # Another visitor may use the same client_msg_id.
    other = services.send_visitor_message(
        contact=services.resolve_visitor(widget=widget), body="hello", client_msg_id="m-1"
    )
    assert other.duplicate is False


def test_04_open_or_create_locks_the_visitor(team_a, socket_settings, bot_calls):  # noqa: F811
    """The slow path (no conversation_id) takes the visitor's row lock; the hot path does not."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from chat import services

    widget, _secret = tenant_services.create_widget(actor=team_a.owner, name="Lock", allowed_origins=ORIGIN)
    visitor = services.resolve_visitor(widget=widget)
    with CaptureQueriesContext(connection) as slow:
        first = services.send_visitor_message(contact=visitor, body="hello", client_msg_id="l-1")
    locks = [q["sql"] for q in slow.captured_queries if "FOR NO KEY UPDATE" in q["sql"]]
    assert len(locks) == 1 and '"chat_contact"' in locks[0]
    with CaptureQueriesContext(connection) as hot:
        services.send_visitor_message(
            contact=visitor, body="again", client_msg_id="l-2", conversation_id=first.conversation.pk
        )
    assert len(hot.captured_queries) == 1 and "FOR NO KEY UPDATE" not in hot.captured_queries[0]["sql"]
