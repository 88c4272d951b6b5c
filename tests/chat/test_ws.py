"""Widget socket protocol with WebsocketCommunicator (in-memory channel layer; the bot is
replaced by a recorder: `no_bot`). Transactional DB: consumers query from worker threads."""

from __future__ import annotations

import time

import pytest
from channels.db import database_sync_to_async
from channels.testing.websocket import WebsocketCommunicator
from django.core import signing

from chat import services
from chat.models import Contact, Conversation, Message
from config.asgi import application
from tenants.crypto import hmac_sha256_hex

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


def _bot_typing(frame: dict) -> bool:
    # The visitor sees the bot typing as soon as a message is stored (before the ack may
    # arrive); these protocol tests look past that indicator.
    return frame.get("type") == "typing" and frame.get("side") == "bot"


async def recv(comm, timeout: float = 5) -> dict:
    while True:
        frame = await comm.receive_json_from(timeout=timeout)
        if not _bot_typing(frame):
            return frame


async def drain(comm, quiet: float = 0.2) -> None:
    """Read whatever arrives until the socket is quiet for `quiet` seconds."""
    while not await comm.receive_nothing(timeout=quiet):
        await comm.receive_json_from()


async def nothing(comm, timeout: float) -> bool:
    """True when nothing but bot typing indicators arrives within `timeout`."""
    while not await comm.receive_nothing(timeout=timeout):
        if not _bot_typing(await comm.receive_json_from()):
            return False
    return True


async def open_socket(info, origin: str | None = None) -> WebsocketCommunicator:
    comm = WebsocketCommunicator(
        application, f"/ws/widget/{info.widget.public_key}/", headers=[(b"origin", (origin or info.origin).encode())]
    )
    connected, code = await comm.connect()
    assert connected, code
    return comm


async def hello(comm, **fields) -> dict:
    await comm.send_json_to({"type": "hello", **fields})
    return await recv(comm)


async def send(comm, body: str, cmid: str, conversation_id=None) -> dict:
    await comm.send_json_to({"type": "message", "body": body, "client_msg_id": cmid, "conversation_id": conversation_id})
    return await recv(comm)


@database_sync_to_async
def db_messages(conversation_id: int, tenant_id: int) -> list[tuple[int, str, str]]:
    return list(
        Message.objects.for_tenant(tenant_id)
        .filter(conversation_id=conversation_id)
        .order_by("seq")
        .values_list("seq", "sender", "body")
    )


async def test_send_then_ack_after_commit(widget_a, no_bot):
    comm = await open_socket(widget_a)
    ready = await hello(comm)
    assert ready["type"] == "ready" and ready["token"] and ready["conversations"] == []
    ack = await send(comm, "Where is my order?", "c-1")
    assert ack["type"] == "ack" and ack["client_msg_id"] == "c-1" and ack["duplicate"] is False
    assert ack["message"]["seq"] == 1 and ack["message"]["sender"] == "visitor"
    # Acked means committed: another connection sees it.
    rows = await db_messages(ack["conversation"]["id"], widget_a.widget.tenant_id)
    assert rows == [(1, "visitor", "Where is my order?")]
    assert no_bot == [(widget_a.widget.tenant_id, ack["message"]["id"])]
    await comm.disconnect()


async def test_duplicate_client_msg_id_yields_one_message(widget_a, no_bot):
    comm = await open_socket(widget_a)
    await hello(comm)
    first = await send(comm, "hello", "dup-1")
    again = await send(comm, "hello", "dup-1")
    assert again["duplicate"] is True and again["message"]["id"] == first["message"]["id"]
    # A resend after a reconnect (same token) is deduplicated as well.
    comm2 = await open_socket(widget_a)
    await hello(comm2, token=(await _token_for(first)))
    third = await send(comm2, "hello", "dup-1")
    assert third["duplicate"] is True and third["message"]["seq"] == 1
    assert len(await db_messages(first["conversation"]["id"], widget_a.widget.tenant_id)) == 1
    assert len(no_bot) == 1
    await comm.disconnect()
    await comm2.disconnect()


@database_sync_to_async
def _token_for(ack: dict) -> str:
    msg = Message.all_tenants.select_related("conversation__contact").get(pk=ack["message"]["id"])
    return services.make_visitor_token(contact=msg.conversation.contact)


async def test_reconnect_replays_exactly_the_gap(widget_a, team_a, no_bot):
    comm = await open_socket(widget_a)
    ready = await hello(comm)
    token = ready["token"]
    acks = [await send(comm, f"m{i}", f"g-{i}") for i in range(3)]
    conv_id = acks[0]["conversation"]["id"]
    last_seen = acks[-1]["message"]["seq"]
    await comm.disconnect()
    # While the visitor is away: an agent replies twice and the visitor writes from another tab.
    await database_sync_to_async(services.agent_send)(actor=team_a.agent, conversation_id=conv_id, body="agent 1")
    await database_sync_to_async(services.agent_send)(actor=team_a.agent, conversation_id=conv_id, body="secret note", note=True)
    await database_sync_to_async(services.agent_send)(actor=team_a.agent, conversation_id=conv_id, body="agent 2")

    comm = await open_socket(widget_a)
    ready = await hello(comm, token=token, resume=[[conv_id, last_seen]])
    assert ready["type"] == "ready" and [c["id"] for c in ready["conversations"]] == [conv_id]
    replay = await recv(comm)
    assert replay["type"] == "replay" and replay["complete"] is True
    got = [(m["seq"], m["sender"], m["body"]) for m in replay["messages"]]
    db = [r for r in await db_messages(conv_id, team_a.tenant.pk) if r[0] > last_seen and r[1] != "note"]
    assert got == db
    # The gap: the takeover's system message, agent 1, agent 2; notes never reach the visitor.
    assert [m[1] for m in got] == ["system", "agent", "agent"] and "secret note" not in str(replay)
    seqs = [m["seq"] for m in replay["messages"]]
    assert seqs[0] == last_seen + 1 and all(b > a for a, b in zip(seqs, seqs[1:], strict=False))
    # Nothing more after the last one.
    await comm.send_json_to({"type": "sync", "conversation_id": conv_id, "after_seq": replay["messages"][-1]["seq"]})
    empty = await recv(comm)
    assert empty["type"] == "replay" and empty["messages"] == []
    await comm.disconnect()


async def test_foreign_origin_refused(widget_a):
    comm = WebsocketCommunicator(
        application, f"/ws/widget/{widget_a.widget.public_key}/", headers=[(b"origin", b"https://evil.example")]
    )
    connected, code = await comm.connect()
    assert not connected and code == 4403
    comm = WebsocketCommunicator(application, f"/ws/widget/{widget_a.widget.public_key}/", headers=[])
    connected, code = await comm.connect()
    assert not connected and code == 4403


async def test_unknown_widget_refused(widget_a):
    comm = WebsocketCommunicator(application, "/ws/widget/wk_nope/", headers=[(b"origin", widget_a.origin.encode())])
    connected, code = await comm.connect()
    assert not connected and code == 4404


async def _refused(comm, **fields) -> dict:
    await comm.send_json_to({"type": "hello", **fields})
    err = await recv(comm)
    closed = await comm.receive_output(timeout=5)
    assert closed == {"type": "websocket.close", "code": 4401}
    return err


async def test_forged_token_refused(widget_a, no_bot):
    comm = await open_socket(widget_a)
    ready = await hello(comm)
    token = ready["token"]
    await comm.disconnect()
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    err = await _refused(await open_socket(widget_a), token=forged)
    assert err["code"] == "bad_token"
    # A payload naming another contact, signed with the wrong key, is refused too.
    other = signing.dumps({"t": widget_a.widget.tenant_id, "w": widget_a.widget.pk, "c": 999}, key="wrong", salt=services.VISITOR_TOKEN_SALT)
    assert (await _refused(await open_socket(widget_a), token=other))["code"] == "bad_token"


async def test_expired_token_refused(widget_a, settings, no_bot):
    comm = await open_socket(widget_a)
    token = (await hello(comm))["token"]
    await comm.disconnect()
    settings.KEFU_VISITOR_TOKEN_MAX_AGE_S = 1
    time.sleep(2.1)
    err = await _refused(await open_socket(widget_a), token=token)
    assert err["code"] == "bad_token"


async def test_visitor_cannot_reach_other_widget_or_tenant(widget_a, widget_a2, widget_b, no_bot):
    # Visitor of widget A2 (same tenant) and of tenant B each have a conversation.
    c2 = await open_socket(widget_a2)
    t2 = (await hello(c2))["token"]
    conv_a2 = (await send(c2, "a2 private", "x-1"))["conversation"]["id"]
    cb = await open_socket(widget_b)
    tb = (await hello(cb))["token"]
    conv_b = (await send(cb, "b private", "y-1"))["conversation"]["id"]

    comm = await open_socket(widget_a)
    await hello(comm)
    for target in (conv_a2, conv_b):
        await comm.send_json_to({"type": "sync", "conversation_id": target, "after_seq": 0})
        err = await recv(comm)
        assert err == {"type": "error", "code": "not_found", "message": "Conversation not found.", "ref": None}
        # Posting "into" it lands in the visitor's own conversation instead.
        await comm.send_json_to({"type": "message", "body": "hi", "client_msg_id": f"z-{target}", "conversation_id": target})
        err = await recv(comm)
        assert err["code"] == "not_found"
        for frame in ({"type": "csat", "conversation_id": target, "rating": 5}, {"type": "typing", "conversation_id": target, "on": True}):
            await comm.send_json_to(frame)
            assert (await recv(comm))["code"] == "not_found"
    # Tokens do not cross widgets or tenants.
    assert (await _refused(await open_socket(widget_a), token=t2))["code"] == "bad_token"
    assert (await _refused(await open_socket(widget_a), token=tb))["code"] == "bad_token"
    # And nothing of theirs leaked into the ready payload of A's visitor.
    comm3 = await open_socket(widget_a)
    ready = await hello(comm3)
    assert ready["conversations"] == []
    for c in (c2, cb, comm, comm3):
        await c.disconnect()


async def test_identity_hash(widget_a, no_bot):
    good = hmac_sha256_hex(widget_a.secret, "user-42")
    err = await _refused(await open_socket(widget_a), user_id="user-42", user_hash="0" * 64)
    assert err["code"] == "bad_identity"
    err = await _refused(await open_socket(widget_a), user_id="user-42", user_hash="")
    assert err["code"] == "bad_identity"
    # The right hash: a verified contact, and the same one from a second device.
    d1 = await open_socket(widget_a)
    r1 = await hello(d1, user_id="user-42", user_hash=good, email="typed@example.com")
    assert r1["contact"]["verified"] is True
    conv = (await send(d1, "from laptop", "d1-1"))["conversation"]["id"]
    d2 = await open_socket(widget_a)
    r2 = await hello(d2, user_id="user-42", user_hash=good.upper())
    assert r2["contact"]["id"] == r1["contact"]["id"] and [c["id"] for c in r2["conversations"]] == [conv]
    # A verified visitor's token alone (no hash) does not reach their conversations.
    d3 = await open_socket(widget_a)
    r3 = await hello(d3, token=r1["token"])
    assert r3.get("type") == "error" or r3["conversations"] == []
    for c in (d1, d2, d3):
        await c.disconnect()


async def test_email_is_only_a_label(widget_a, no_bot):
    d1 = await open_socket(widget_a)
    await hello(d1)
    await d1.send_json_to({"type": "email", "email": "ceo@victim.example"})
    assert (await recv(d1))["type"] == "email_saved"
    await send(d1, "private", "e-1")
    d2 = await open_socket(widget_a)
    r2 = await hello(d2, email="ceo@victim.example")
    assert r2["conversations"] == []
    await d1.disconnect()
    await d2.disconnect()


async def test_limits_store_nothing(widget_a, settings, no_bot):
    settings.KEFU_MAX_MESSAGE_CHARS = 100
    settings.KEFU_VISITOR_MESSAGES_PER_MINUTE = 3
    comm = await open_socket(widget_a)
    await hello(comm)
    err = await send(comm, "x" * 101, "big-1")
    assert err["type"] == "error" and err["code"] == "too_long" and err["ref"] == "big-1"
    err = await send(comm, "   ", "empty-1")
    assert err["code"] == "empty"
    err = await send(comm, "ok", "bad id with spaces")
    assert err["code"] == "bad_client_msg_id"
    assert await database_sync_to_async(lambda: Message.objects.for_tenant(widget_a.widget.tenant_id).count())() == 0
    for i in range(3):
        assert (await send(comm, "ok", f"r-{i}"))["type"] == "ack"
    err = await send(comm, "ok", "r-3")
    assert err["code"] == "rate_limited"
    assert await database_sync_to_async(lambda: Message.objects.for_tenant(widget_a.widget.tenant_id).count())() == 3
    # Oversize frame: closed with 1009, nothing stored.
    await comm.send_to(text_data='{"type":"message","body":"' + "y" * 5000 + '","client_msg_id":"huge"}')
    err = await recv(comm)
    assert err["code"] == "frame_too_large"
    assert await comm.receive_output(timeout=5) == {"type": "websocket.close", "code": 1009}
    # Unauthenticated frames are refused.
    c2 = await open_socket(widget_a)
    await c2.send_json_to({"type": "message", "body": "x", "client_msg_id": "n-1"})
    assert (await recv(c2))["code"] == "hello_first"
    await c2.disconnect()


async def test_other_tab_gets_fan_out_and_own_socket_only_ack(widget_a, no_bot):
    tab1 = await open_socket(widget_a)
    token = (await hello(tab1))["token"]
    tab2 = await open_socket(widget_a)
    await hello(tab2, token=token)
    ack = await send(tab1, "from tab 1", "t-1")
    event = await recv(tab2)
    assert event["type"] == "message" and event["message"]["seq"] == ack["message"]["seq"]
    assert await nothing(tab1, 0.3)
    await tab1.disconnect()
    await tab2.disconnect()


async def test_new_conversation_after_resolve_and_past_readable(widget_a, team_a, no_bot):
    comm = await open_socket(widget_a)
    await hello(comm)
    first = await send(comm, "first issue", "n-1")
    conv1 = first["conversation"]["id"]
    await database_sync_to_async(services.resolve)(actor=team_a.agent, conversation_id=conv1)
    # The resolve reaches the socket (system message + conversation change with CSAT request).
    seen = [await recv(comm) for _ in range(2)]
    assert {e["type"] for e in seen} == {"message", "conversation"}
    second = await send(comm, "second issue", "n-2", conversation_id=conv1)
    conv2 = second["conversation"]["id"]
    assert conv2 != conv1 and second["message"]["seq"] == 1
    await comm.send_json_to({"type": "sync", "conversation_id": conv1, "after_seq": 0})
    while True:
        frame = await recv(comm)
        if frame["type"] == "replay":
            break
    assert [m["body"] for m in frame["messages"]][0] == "first issue"
    await comm.disconnect()


@database_sync_to_async
def _conv(conv_id: int) -> Conversation:
    return Conversation.all_tenants.get(pk=conv_id)


async def test_talk_to_a_human_and_csat_once(widget_a, team_a, no_bot):
    comm = await open_socket(widget_a)
    await hello(comm)
    ack = await send(comm, "hi", "h-1")
    conv_id = ack["conversation"]["id"]
    await comm.send_json_to({"type": "handoff", "conversation_id": conv_id})
    frames = []
    while True:
        frame = await recv(comm)
        frames.append(frame)
        if frame["type"] == "handoff":
            break
    assert frame["reason"] == "visitor_request" and frame["agents_online"] is False and frame["position"] is None
    conv = await _conv(conv_id)
    assert conv.handled_by == "human" and conv.handoff_reason == "visitor_request"
    await database_sync_to_async(services.agent_send)(actor=team_a.agent, conversation_id=conv_id, body="I can help")
    await database_sync_to_async(services.resolve)(actor=team_a.agent, conversation_id=conv_id)
    await nothing(comm, 0.3)
    await drain(comm)
    await comm.send_json_to({"type": "csat", "conversation_id": conv_id, "rating": 5, "comment": "great"})
    assert (await recv(comm))["type"] == "csat_saved"
    await drain(comm)
    await comm.send_json_to({"type": "csat", "conversation_id": conv_id, "rating": 1})
    err = await recv(comm)
    assert err["code"] == "no_survey"
    await comm.disconnect()


@database_sync_to_async
def _contact_count(tenant_id: int) -> int:
    return Contact.objects.for_tenant(tenant_id).count()
