"""Issue 9 #15 (sockets): bad input on a socket gets a clean refusal or an error frame,
never an exception. Before the fix an Origin with a port that is not a number raised in
the handshake (500), `{"type": "connect"}` ran the consumer's own on_connect hook, and
`conversation_id: 1e999` (JSON infinity) raised OverflowError: each killed the socket.

In-process sockets (config.asgi through WebsocketCommunicator, in-memory channel layer,
real PostgreSQL); the bot is recorded instead of run. An exception in a consumer
surfaces here as a test error; the `internal` error code (the consumers' last-resort
net) is asserted never to appear, so each case is handled where it arises."""

from __future__ import annotations

import itertools
import json

import pytest
from channels.testing.websocket import WebsocketCommunicator

from config.asgi import application
from tests.security.sockets import (  # noqa: F401 - fixtures
    PUSHED,
    bot_calls,
    frame,
    inbox_socket,
    recv,
    session_cookie,
    socket_settings,
    still_open,
    widget,
    widget_socket,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

BAD_ORIGINS = [
    "https://sec-shop.example:99999",  # port out of range
    "https://sec-shop.example:abc",  # port not a number
    "https://[::1",  # unclosed IPv6 bracket
    "https://sec-shop.example:-1",
]


@pytest.mark.parametrize("origin", BAD_ORIGINS)
async def test_15_socket_widget_origin_with_bad_port_refused(widget, origin):  # noqa: F811
    comm = WebsocketCommunicator(application, f"/ws/widget/{widget.public_key}/", headers=[(b"origin", origin.encode())])
    assert await comm.connect() == (False, 4403)


@pytest.mark.parametrize("origin", BAD_ORIGINS)
async def test_15_socket_inbox_origin_with_bad_port_refused(team_a, agent_cookie, origin):  # noqa: F811
    comm = inbox_socket(team_a.tenant.slug, agent_cookie, origin=origin.encode())
    assert await comm.connect() == (False, 4403)
    # A Host header with a bad port does not parse either: refused, not a crash.
    comm = inbox_socket(team_a.tenant.slug, agent_cookie, origin=b"http://portal.example", host=b"portal.example:http")
    assert await comm.connect() == (False, 4403)


@pytest.fixture
def agent_cookie(team_a, socket_settings):  # noqa: F811
    return session_cookie(team_a.agent.user)


async def _ready_socket(widget):  # noqa: F811
    comm = await widget_socket(widget)
    ready = await frame(comm, {"type": "hello"})
    assert ready["type"] == "ready"
    ack = await frame(comm, {"type": "message", "client_msg_id": "first", "body": "hello"})
    assert ack["type"] == "ack"
    return comm, ack


async def test_15_socket_connect_and_other_hook_names_are_unknown_frames(widget, bot_calls):  # noqa: F811
    comm, _ack = await _ready_socket(widget)
    for name in ("connect", "websocket.connect", "disconnect", "receive", "chat.event", "__init__", "on_hello", ""):
        got = await frame(comm, {"type": name, "ref": "r"})
        assert (got["type"], got["code"]) == ("error", "unknown_type"), name
    await still_open(comm)
    await comm.disconnect()


NOT_OBJECTS = ["[1, 2]", '"hello"', "1", "null", "true", "1e999", "[" * 5000 + "]" * 5000, "{", "\ud800", ""]


async def test_15_socket_non_object_json_is_an_error_frame(widget, bot_calls):  # noqa: F811
    comm, _ack = await _ready_socket(widget)
    for text in NOT_OBJECTS:
        got = await frame(comm, text, raw=True)
        assert got["type"] == "error" and got["code"] in {"bad_json", "bad_frame"}, (text[:20], got)
    for payload in ({"type": 5}, {"type": None}, {"type": ["message"]}, {"no": "type"}):
        got = await frame(comm, payload)
        assert (got["type"], got["code"]) == ("error", "bad_frame")
    await still_open(comm)
    await comm.disconnect()


BAD_VALUES = [1e999, -1e999, 10**30, -(10**30), 2**63, -1, 0, 1.5, "1e999", "abc", "", [], [1], {}, {"a": 1}, None, True]
FIELDS = {
    "message": ["conversation_id", "client_msg_id", "body"],
    "sync": ["conversation_id", "after_seq"],
    "typing": ["conversation_id", "on"],
    "read": ["conversation_id", "seq"],
    "handoff": ["conversation_id"],
    "email": ["email"],
    "csat": ["conversation_id", "rating", "comment"],
    "feedback": ["message_id", "value"],
    "solved": ["message_id"],
    "ping": ["ref"],
}


async def test_15_socket_wrong_types_and_huge_numbers_keep_the_socket(widget, socket_settings, bot_calls):  # noqa: F811
    socket_settings.KEFU_VISITOR_MESSAGES_PER_MINUTE = socket_settings.KEFU_IP_MESSAGES_PER_MINUTE = 0
    comm, ack = await _ready_socket(widget)
    good = {
        "conversation_id": ack["conversation"]["id"], "client_msg_id": "x", "body": "hi", "after_seq": 0, "on": True,
        "seq": 1, "email": "a@b.example", "rating": 5, "comment": "", "message_id": ack["message"]["id"], "value": 1,
    }
    seen_codes: set[str] = set()
    n = 0
    for (kind, fields), value in itertools.product(FIELDS.items(), BAD_VALUES):
        for field in fields:
            n += 1
            payload = {"type": kind, **{f: good[f] for f in fields if f != field and f in good}, field: value}
            if kind == "message":
                payload.setdefault("client_msg_id", f"fuzz-{n}")
                if field != "client_msg_id":
                    payload["client_msg_id"] = f"fuzz-{n}"
            await comm.send_to(text_data=json.dumps(payload))  # 1e999 goes out as Infinity, as a client could send
            # Some frames answer nothing (typing/read with no usable id): the ping proves the socket lived.
            await comm.send_to(text_data=json.dumps({"type": "ping", "ref": n}))
            while True:
                got = await recv(comm)
                if got == {"type": "pong", "ref": n}:
                    break
                if got["type"] == "error":
                    assert got["code"] != "internal", (payload, got)
                    seen_codes.add(got["code"])
    # The refusals are the service's own (not found, invalid, ...), never an internal error.
    assert seen_codes and "internal" not in seen_codes
    await still_open(comm)
    await comm.disconnect()


async def test_15_socket_bad_hello_fields_close_cleanly_or_work(widget, socket_settings, bot_calls):  # noqa: F811
    socket_settings.KEFU_IP_NEW_VISITORS_PER_HOUR = 0
    for field, value in itertools.product(
        ("token", "user_id", "user_hash", "name", "attributes", "language", "resume"),
        (1e999, 10**30, [], {}, [[1e999, 1e999]], [["x", {}]], {"1": 2}, {"a": 1e999, "b": -1e999}, "x" * 500, None, True),
    ):
        comm = await widget_socket(widget)
        got = await frame(comm, {"type": "hello", field: value})
        if got["type"] == "ready":
            while True:  # any replays of the resume list, then the socket still answers
                await comm.send_to(text_data=json.dumps({"type": "ping", "ref": "p"}))
                nxt = await recv(comm)
                if nxt["type"] == "error":
                    assert nxt["code"] == "not_found", (field, value, nxt)
                    continue
                assert nxt == {"type": "pong", "ref": "p"} or nxt["type"] in PUSHED | {"replay"}, nxt
                if nxt["type"] == "pong":
                    break
        else:
            assert (got["type"], got["code"]) in {("error", "bad_token"), ("error", "bad_identity")}, (field, value, got)
            assert await comm.receive_output(timeout=5) == {"type": "websocket.close", "code": 4401}
        await comm.disconnect()


async def test_15_socket_inbox_frames(team_a, agent_cookie):  # noqa: F811
    comm = inbox_socket(team_a.tenant.slug, agent_cookie)
    assert (await comm.connect())[0]
    assert (await recv(comm))["type"] == "ready"
    for payload in (
        {"type": "connect"},
        {"type": "typing", "conversation_id": 1e999, "on": True},
        {"type": "typing", "conversation_id": 10**30, "on": True},
        {"type": "typing", "conversation_id": "abc"},
        {"type": "message", "body": "agents reply through the API"},
        [1],
    ):
        await comm.send_to(text_data=json.dumps(payload))
        await comm.send_to(text_data=json.dumps({"type": "ping", "ref": "p"}))
        while True:
            got = await recv(comm)
            if got["type"] == "pong":
                break
            if got["type"] in PUSHED:
                continue
            assert got["type"] == "error" and got["code"] != "internal", (payload, got)
    await comm.disconnect()
