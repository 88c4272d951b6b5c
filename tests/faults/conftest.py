"""Shared plumbing for the fault battery (issue 9): a widget socket on the Redis channel
layer, waiting for frames, reading the database from async tests."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from channels.db import database_sync_to_async
from channels.testing.websocket import WebsocketCommunicator

from chat.models import Message
from config.asgi import application
from config.celery import app as celery_app
from tenants import services as tenant_services
from tests.processes import free_port

ORIGIN = "https://shop.example"


@pytest.fixture
def redis_everywhere(settings):
    """Tasks to the real broker and events over the Redis pub/sub layer, in this process."""
    if not settings.REDIS_URL:
        pytest.skip("needs REDIS_URL (make test sets it)")
    from channels.layers import channel_layers

    settings.KEFU_TASK_MODE = "celery"
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            # Named after the Redis database, like the workers do: no cross-talk between test runs.
            "CONFIG": {"hosts": [settings.REDIS_URL], "prefix": settings.KEFU_CHANNEL_PREFIX},
        }
    }
    channel_layers.backends.clear()
    celery_app.control.purge()
    yield
    celery_app.control.purge()  # nothing left for a later test's worker (e.g. test 07's embeddings)
    channel_layers.backends.clear()


async def receive_until(comm, predicate: Callable[[dict], bool], timeout: float) -> list[dict]:
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
    raise AssertionError(f"timed out after {timeout} s; saw {[e.get('type') for e in seen]}")


def is_bot_message(event: dict) -> bool:
    return event.get("type") == "message" and event.get("message", {}).get("sender") == "bot"


async def open_widget_socket(team, origin: str = ORIGIN) -> WebsocketCommunicator:
    widget, _secret = await database_sync_to_async(tenant_services.create_widget)(
        actor=team.owner, name="Shop", allowed_origins=origin
    )
    comm = WebsocketCommunicator(application, f"/ws/widget/{widget.public_key}/", headers=[(b"origin", origin.encode())])
    assert (await comm.connect())[0]
    await comm.send_json_to({"type": "hello"})
    assert (await comm.receive_json_from(timeout=5))["type"] == "ready"
    return comm


async def bot_replies(tenant) -> list[int | None]:
    """reply_to of every bot message of the tenant (exactly once = each inbound id once)."""
    return await database_sync_to_async(
        lambda: list(Message.objects.for_tenant(tenant).filter(sender="bot").order_by("id").values_list("reply_to_id", flat=True))
    )()


class RedisServer:
    """A redis-server of the test's own on a free port (never the shared 6379), so the test
    can stop and start it. No persistence: a restart loses every queue, like a crash."""

    def __init__(self, tmp_path: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.log_path = tmp_path / "redis.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(self.log_path.read_text()[-2000:])

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


@pytest.fixture
def own_redis(tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()
