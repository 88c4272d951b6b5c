"""Events to the channel layer, only after the transaction commits (Zulip's
send_event_on_commit). Group names are built here, server-side, from ids only.

In a consumer, `collect()` gathers the events a service emitted so the consumer can send
them from its own event loop after the service returns (no blocking round-trip on the
database thread); anywhere else (REST views, Celery tasks) they are sent synchronously
from the on-commit hook.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from redis.exceptions import RedisError

_local = threading.local()
logger = logging.getLogger(__name__)

Event = tuple[str, dict[str, Any]]


def visitor_group(tenant_id: int, contact_id: int) -> str:
    return f"kefu.visitor.{int(tenant_id)}.{int(contact_id)}"


def inbox_group(tenant_id: int) -> str:
    return f"kefu.inbox.{int(tenant_id)}"


def _wrap(payload: dict[str, Any], origin: str) -> dict[str, Any]:
    return {"type": "chat.event", "payload": payload, "origin": origin}


def send_now(group: str, payload: dict[str, Any], *, origin: str = "") -> None:
    box = getattr(_local, "box", None)
    if box is not None:
        box.append((group, _wrap(payload, origin)))
        return
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, _wrap(payload, origin))
    except (OSError, RedisError) as exc:
        # Events are best effort (the database is the record, clients `sync`): a channel
        # layer that is down must not fail the reply that was just stored (issue 9 #6).
        logger.warning("channel layer send to %s failed: %s", group, exc)


def emit(group: str, payload: dict[str, Any], *, origin: str = "") -> None:
    """Send `payload` to `group` once the current transaction commits (now if none)."""
    transaction.on_commit(lambda: send_now(group, payload, origin=origin))


@contextmanager
def collect() -> Iterator[list[Event]]:
    previous = getattr(_local, "box", None)
    box: list[Event] = []
    _local.box = box
    try:
        yield box
    finally:
        _local.box = previous
