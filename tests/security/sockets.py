"""Helpers for the socket cases of issue 9 (tests/security/test_04/05/10/15_socket_*):
in-process sockets through config.asgi with WebsocketCommunicator, and real visitors
(websockets client) against uvicorn for the multi-process cases."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest
from channels.testing.websocket import WebsocketCommunicator
from django.test import Client

from config.asgi import application
from tenants import services as tenant_services
from tenants.models import Widget

ORIGIN = "https://sec-shop.example"


@pytest.fixture
def socket_settings(settings):
    """In-memory channel layer, bot tasks recorded instead of run, and rate-limit counters
    of this test alone (a fresh Redis key prefix)."""
    from channels.layers import channel_layers

    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    settings.KEFU_RATELIMIT_PREFIX = f"kefu:rl:test:{uuid.uuid4().hex}:"
    channel_layers.backends.clear()
    yield settings
    channel_layers.backends.clear()


@pytest.fixture
def bot_calls(monkeypatch) -> list[tuple[int, int]]:
    calls: list[tuple[int, int]] = []
    monkeypatch.setattr("chat.tasks.enqueue_respond", lambda tenant_id, message_id: calls.append((tenant_id, message_id)))
    return calls


def make_widget(team: Any, origin: str = ORIGIN) -> Widget:
    widget, _secret = tenant_services.create_widget(actor=team.owner, name="Security", allowed_origins=origin)
    return widget


@pytest.fixture
def widget(team_a, socket_settings) -> Widget:
    return make_widget(team_a)


def session_cookie(user: Any) -> tuple[bytes, bytes]:
    client = Client()
    client.force_login(user)
    return (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())


def inbox_socket(tenant_slug: str, cookie: tuple[bytes, bytes], origin: bytes = b"http://127.0.0.1:8000",
                 host: bytes = b"127.0.0.1:8000") -> WebsocketCommunicator:
    return WebsocketCommunicator(
        application, f"/ws/t/{tenant_slug}/inbox/", headers=[(b"origin", origin), (b"host", host), cookie]
    )


async def widget_socket(widget: Widget, origin: str = ORIGIN, client_ip: str = "198.51.100.7") -> WebsocketCommunicator:
    comm = WebsocketCommunicator(application, f"/ws/widget/{widget.public_key}/", headers=[(b"origin", origin.encode())])
    comm.scope["client"] = (client_ip, 50000)
    connected, code = await comm.connect()
    assert connected, code
    return comm


def _no_constant(name: str) -> Any:
    raise AssertionError(f"the server sent {name}, which JSON.parse in a browser refuses")


async def recv(comm: WebsocketCommunicator, timeout: float = 5) -> dict[str, Any]:
    """The next frame the server sent, parsed as strictly as a browser would."""
    out = await comm.receive_output(timeout=timeout)
    assert out["type"] == "websocket.send", out
    return json.loads(out["text"], parse_constant=_no_constant)


# What the server pushes on its own (fan-out, the bot's typing): not the answer to a frame.
PUSHED = frozenset({"message", "typing", "chunk", "stream_cancel", "conversation", "read"})


async def frame(comm: WebsocketCommunicator, payload: Any, *, raw: bool = False) -> dict[str, Any]:
    """Send one frame; the server's answer to it (pushed frames in between are skipped)."""
    await comm.send_input({"type": "websocket.receive", "text": payload if raw else json.dumps(payload)})
    while True:
        got = await recv(comm)
        if got.get("type") not in PUSHED:
            return got


async def still_open(comm: WebsocketCommunicator) -> None:
    """The socket answers a ping (and nothing else was queued before the pong)."""
    assert await frame(comm, {"type": "ping", "ref": "alive"}) == {"type": "pong", "ref": "alive"}


async def ws_frames_until(ws: Any, wanted: str, timeout: float = 20) -> dict[str, Any]:
    while True:
        got = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        if got["type"] == wanted:
            return got
