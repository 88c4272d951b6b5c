"""WebSocket consumers: the visitor's widget socket and the agent's inbox socket.

Protocol: docs/protocol.md. The visitor's own socket gets its ack directly (never through
a group); channel-layer groups carry only fan-out to the other side and other tabs.
Every database call runs in a worker thread (not the single thread-sensitive one) and
returns the events its service emitted on commit, which are then sent from here.
"""

from __future__ import annotations

import json
import logging
import math
import select
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import SyncToAsync
from channels.consumer import get_handler_name
from channels.db import DatabaseSyncToAsync
from django.conf import settings
from django.db import connections
from redis.exceptions import RedisError

from chat import events, selectors, services
from chat.models import Contact
from chat.presenters import contact_payload, conversation_payload, message_payload
from tenants import selectors as tenant_selectors
from tenants import services as tenant_services
from tenants.consumers import TenantMemberConsumer, WidgetConsumerBase
from tenants.errors import ServiceError
from tenants.models import Widget

logger = logging.getLogger(__name__)

CLOSE_UNAUTHORIZED = 4401
CLOSE_RATE_LIMITED = 4429
CLOSE_TOO_BIG = 1009
CLOSE_UNSUPPORTED = 1003
CLOSE_INTERNAL = 1011
# Ids and seqs are PostgreSQL bigints: anything outside is no id at all.
_BIGINT_MAX = 2**63 - 1


def max_frame_chars() -> int:
    # A message of the maximum size, JSON-escaped, plus the envelope.
    return settings.KEFU_MAX_MESSAGE_CHARS * 6 + 2048


def _run_collecting(fn: Callable[..., Any], kwargs: dict[str, Any]) -> tuple[Any, list[events.Event]]:
    with events.collect() as box:
        result = fn(**kwargs)
    return result, box


class _ChatDatabaseSyncToAsync(DatabaseSyncToAsync):
    """DatabaseSyncToAsync without a health-check round trip per frame.

    channels' version calls close_old_connections() around every call, which (with
    CONN_HEALTH_CHECKS) makes the next query start with a `SELECT 1`: a second round trip
    for a one-statement message. Here the connection is checked only when it needs it: an
    error occurred on it, it outlived CONN_MAX_AGE, or its autocommit was left changed.
    """

    def thread_handler(self, loop: Any, *args: Any, **kwargs: Any) -> Any:
        _close_if_needed()
        return SyncToAsync.thread_handler(self, loop, *args, **kwargs)


def _close_if_needed() -> None:
    for conn in connections.all(initialized_only=True):
        if conn.connection is None:
            continue
        if _server_hung_up(conn):
            conn.errors_occurred = True  # so the check below tests it (SELECT 1) and drops it
        if (
            conn.errors_occurred
            or conn.get_autocommit() != conn.settings_dict["AUTOCOMMIT"]
            # A pooled connection (web processes, settings.KEFU_DB_POOL) has CONN_MAX_AGE 0:
            # this thread keeps it rather than return it and take it back (with the pool's
            # health check, a second round trip) on every frame; the threads are bounded.
            or (conn.close_at is not None and getattr(conn, "pool", None) is None and time.monotonic() >= conn.close_at)
        ):
            conn.close_if_unusable_or_obsolete()


def _server_hung_up(conn: Any) -> bool:
    """Whether the server ended this idle connection, without a round trip.

    Between frames the connection is idle, so the server sends nothing on it unless it
    ends the session (pg_terminate_backend, a restart: an error, then EOF). Without this
    the next frame's query failed on it (error `internal`, close 1011; issue 14).
    """
    if conn.vendor != "postgresql":
        return False
    if conn.connection.closed:
        return True
    poller = select.poll()  # not select.select: a busy server's descriptors pass 1024
    poller.register(conn.connection.fileno(), select.POLLIN)
    return bool(poller.poll(0))


# Socket database calls run in their own pool (each thread keeps one connection). Every
# visitor message ends in a commit that waits for the WAL flush; with more commits in
# flight PostgreSQL flushes them together (group commit), so the pool is wider than the
# event loop's default (cores + 4). Mind max_connections: threads x server processes.
_db_pool = ThreadPoolExecutor(
    max_workers=settings.KEFU_CHAT_DB_THREADS, thread_name_prefix="kefu-chat-db"
)
_run_in_thread = _ChatDatabaseSyncToAsync(_run_collecting, thread_sensitive=False, executor=_db_pool)


class _ChatSocket:
    """Shared plumbing for both consumers (a mixin over AsyncJsonWebsocketConsumer)."""

    # The frame types a client may send: `{"type": t}` runs `on_<t>`. An allow-list, so a
    # frame can never reach another method that happens to start with on_ (on_connect).
    frame_types: frozenset[str] = frozenset({"ping"})
    channel_name: str
    channel_layer: Any
    send_json: Callable[..., Awaitable[None]]
    close: Callable[..., Awaitable[None]]

    async def dispatch(self, message: dict[str, Any]) -> None:
        # channels' AsyncConsumer.dispatch runs close_old_connections() on the single
        # thread-sensitive executor before *every* frame: a thread hop per message for
        # connections this socket never uses (its database calls run in _run_in_thread,
        # which keeps its own connections healthy).
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def call(self, fn: Callable[..., Any], **kwargs: Any) -> Any:
        result, box = await _run_in_thread(fn, kwargs)
        await self.publish(box)
        return result

    async def publish(self, box: list[events.Event]) -> None:
        # Best effort, like every channel-layer event: with Redis down the message is
        # already committed and acked, the other side catches up with `sync`; the socket
        # must not die for it (issue 9 #6).
        for group, event in box:
            try:
                await self.channel_layer.group_send(group, event)
            except (OSError, RedisError) as exc:
                logger.warning("channel layer send to %s failed: %s", group, exc)

    async def error(self, code: str, message: str, ref: Any = None) -> None:
        await self.send_json({"type": "error", "code": code, "message": message, "ref": ref})

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if text_data is None:
            await self.error("unsupported", "Send JSON text frames.")
            await self.close(code=CLOSE_UNSUPPORTED)
            return
        if len(text_data) > max_frame_chars():
            await self.error("frame_too_large", "The frame is too large.")
            await self.close(code=CLOSE_TOO_BIG)
            return
        try:
            content = json.loads(text_data)
        except (ValueError, RecursionError):  # RecursionError: [[[[...]]]] nested past the stack
            await self.error("bad_json", "The frame is not valid JSON.")
            return
        if not isinstance(content, dict) or not isinstance(content.get("type"), str):
            await self.error("bad_frame", "A frame is a JSON object with a type.")
            return
        if content["type"] not in self.frame_types:
            await self.error("unknown_type", "Unknown frame type.", _ref(content.get("ref")))
            return
        handler = getattr(self, "on_" + content["type"])
        ref = _ref(content.get("client_msg_id")) or _ref(content.get("ref"))
        try:
            await self.dispatch_frame(handler, content)
        except ServiceError as exc:
            await self.error(exc.code, exc.message, ref)
        except Exception:
            # A bug, or the database/channel layer failing mid-frame: nothing was acked,
            # so close (not an error with the ref, which the widget treats as final) and
            # let the client reconnect and resend.
            logger.exception("socket frame %r failed", content["type"])
            await self.error("internal", "Something went wrong; reconnecting.")
            await self.close(code=CLOSE_INTERNAL)

    async def dispatch_frame(self, handler: Callable[[dict[str, Any]], Awaitable[None]], content: dict[str, Any]) -> None:
        await handler(content)

    async def chat_event(self, event: dict[str, Any]) -> None:
        if event.get("origin") and event.get("origin") == self.channel_name:
            return  # this socket already has it (its own ack)
        await self.send_json(event["payload"])

    async def on_ping(self, content: dict[str, Any]) -> None:
        await self.send_json({"type": "pong", "ref": _ref(content.get("ref"))})


def _int(value: Any) -> int | None:
    """An id or seq from a frame: an integer (or integral number/string) in bigint range."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and not value.is_integer():
        return None
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):  # 1e999 is inf: OverflowError
        return None
    return number if -_BIGINT_MAX <= number <= _BIGINT_MAX else None


def _ref(value: Any) -> Any:
    """Echoed back as is when it is a short string or a number; anything else is dropped."""
    if isinstance(value, str):
        return value[:100]
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return value  # (JSON has no Infinity: the client could not parse it back)
    return None


class WidgetConsumer(_ChatSocket, WidgetConsumerBase):
    """The visitor's socket: /ws/widget/<public_key>/ (Origin checked by the base)."""

    frame_types = frozenset(
        {"hello", "message", "sync", "typing", "read", "handoff", "email", "transcript", "csat", "feedback", "solved", "ping"}
    )
    contact: Contact | None = None
    group: str = ""

    async def on_connect(self) -> None:
        self.contact = None
        await self.accept()

    @property
    def client_ip(self) -> str:
        # uvicorn puts X-Forwarded-For here when the proxy is trusted (--forwarded-allow-ips).
        client = self.scope.get("client") or ("", 0)
        return str(client[0] or "")

    async def disconnect(self, code: int) -> None:
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def chat_event(self, event: dict[str, Any]) -> None:
        await super().chat_event(event)
        if event["payload"].get("type") == "session_ended":  # the visitor's data was deleted
            await self.close(code=CLOSE_UNAUTHORIZED)

    async def dispatch_frame(self, handler: Callable[[dict[str, Any]], Awaitable[None]], content: dict[str, Any]) -> None:
        if self.contact is None and content["type"] not in ("hello", "ping"):
            raise ServiceError("Send hello first.", code="hello_first")
        await handler(content)

    async def on_hello(self, content: dict[str, Any]) -> None:
        if self.contact is not None:
            raise ServiceError("Already identified.", code="already_identified")
        try:
            contact = await self.call(
                services.resolve_visitor,
                widget=self.widget,
                token=str(content.get("token") or ""),
                user_id=str(content.get("user_id") or ""),
                user_hash=str(content.get("user_hash") or ""),
                name=str(content.get("name") or ""),
                attributes=content.get("attributes"),
                language=str(content.get("language") or ""),
                client_ip=self.client_ip,
            )
        except ServiceError as exc:
            await self.error(exc.code, exc.message)
            await self.close(code=CLOSE_RATE_LIMITED if exc.code == "rate_limited" else CLOSE_UNAUTHORIZED)
            return
        self.contact = contact
        if self.widget.first_connected_at is None:  # the base accepted the Origin: the widget is installed
            await self.call(tenant_services.record_widget_connected, widget=self.widget)
        self.group = events.visitor_group(contact.tenant_id, contact.pk)
        # Join before reading the replay: anything committed meanwhile arrives twice at
        # worst, and the client keeps messages by seq.
        await self.channel_layer.group_add(self.group, self.channel_name)
        ready = await self.call(_ready_payload, contact=contact, widget=self.widget)
        await self.send_json(ready)
        resume = content.get("resume") or []
        if isinstance(resume, dict):
            resume = list(resume.items())
        for item in resume[:20] if isinstance(resume, list) else []:
            if isinstance(item, (list, tuple)) and len(item) == 2:
                await self.on_sync({"conversation_id": item[0], "after_seq": item[1]})

    async def on_sync(self, content: dict[str, Any]) -> None:
        """Replay the gap after `after_seq` from the database."""
        assert self.contact is not None
        replay = await self.call(
            _replay_payload,
            contact=self.contact,
            conversation_id=_int(content.get("conversation_id")),
            after_seq=max(0, _int(content.get("after_seq")) or 0),
        )
        if replay is None:
            raise ServiceError("Conversation not found.", code="not_found")
        await self.send_json(replay)

    async def on_message(self, content: dict[str, Any]) -> None:
        assert self.contact is not None
        posted, box = await _run_in_thread(
            _post_visitor,
            {"contact": self.contact, "content": content, "origin": self.channel_name, "client_ip": self.client_ip},
        )
        # The ack first (the message is committed), then the fan-out to the inbox and to
        # the visitor's other tabs: the sender does not wait for the channel layer.
        await self.send_json(posted)
        await self.publish(box)

    async def on_typing(self, content: dict[str, Any]) -> None:
        assert self.contact is not None
        cid = _int(content.get("conversation_id"))
        if cid:
            await self.call(services.visitor_typing, contact=self.contact, conversation_id=cid, on=bool(content.get("on")))

    async def on_read(self, content: dict[str, Any]) -> None:
        assert self.contact is not None
        cid, seq = _int(content.get("conversation_id")), _int(content.get("seq"))
        if cid and seq is not None:
            await self.call(
                services.visitor_read, contact=self.contact, conversation_id=cid, seq=seq, origin=self.channel_name
            )

    async def on_handoff(self, content: dict[str, Any]) -> None:
        assert self.contact is not None
        data = await self.call(_request_human, contact=self.contact, conversation_id=_int(content.get("conversation_id")))
        await self.send_json(data)

    async def on_email(self, content: dict[str, Any]) -> None:
        assert self.contact is not None
        contact = await self.call(services.set_contact_email, contact=self.contact, email=str(content.get("email") or ""))
        await self.send_json({"type": "email_saved", "email": contact.email, "ref": _ref(content.get("ref"))})

    async def on_transcript(self, content: dict[str, Any]) -> None:
        """The conversation so far, by e-mail to the address the visitor left."""
        assert self.contact is not None
        cid = _int(content.get("conversation_id")) or 0
        email = await self.call(services.request_transcript, contact=self.contact, conversation_id=cid)
        await self.send_json({"type": "transcript_sent", "conversation_id": cid, "email": email, "ref": _ref(content.get("ref"))})

    async def on_csat(self, content: dict[str, Any]) -> None:
        assert self.contact is not None
        response = await self.call(
            services.submit_csat,
            contact=self.contact,
            conversation_id=_int(content.get("conversation_id")) or 0,
            rating=_int(content.get("rating")),
            comment=str(content.get("comment") or ""),
        )
        await self.send_json(
            {"type": "csat_saved", "conversation_id": response.conversation_id, "rating": response.rating}
        )

    async def on_solved(self, content: dict[str, Any]) -> None:
        """"This solved my problem" under a bot answer: resolved by the bot, then CSAT."""
        assert self.contact is not None
        conv = await self.call(
            services.confirm_resolution, contact=self.contact, message_id=_int(content.get("message_id")) or 0
        )
        await self.send_json(
            {
                "type": "solved_saved",
                "message_id": _int(content.get("message_id")),
                "conversation": conversation_payload(conv),
                "ref": _ref(content.get("ref")),
            }
        )

    async def on_feedback(self, content: dict[str, Any]) -> None:
        assert self.contact is not None
        await self.call(
            services.message_feedback,
            contact=self.contact,
            message_id=_int(content.get("message_id")) or 0,
            value=content.get("value"),
        )
        await self.send_json({"type": "feedback_saved", "message_id": _int(content.get("message_id"))})


def _ready_payload(*, contact: Contact, widget: Widget) -> dict[str, Any]:
    conversations = list(selectors.contact_conversations(contact=contact)[:30])
    return {
        "type": "ready",
        "widget": {"name": widget.name, "color": widget.color, "greeting": widget.greeting, "locale": widget.locale},
        "token": services.make_visitor_token(contact=contact),
        "contact": contact_payload(contact),
        "conversations": [conversation_payload(c) for c in conversations],
        "agents_online": selectors.agents_online(tenant_id=contact.tenant_id),
        "hours": services.widget_availability(widget=widget),
    }


def _replay_payload(*, contact: Contact, conversation_id: int | None, after_seq: int) -> dict[str, Any] | None:
    if conversation_id is None:
        return None
    conv = selectors.contact_conversation(contact=contact, conversation_id=conversation_id)
    if conv is None:
        return None
    msgs = selectors.messages_after(tenant_id=contact.tenant_id, conversation_id=conv.pk, after_seq=after_seq)
    names = selectors.author_names(tenant_id=contact.tenant_id, messages=msgs)
    return {
        "type": "replay",
        "conversation": conversation_payload(conv),
        "conversation_id": conv.pk,
        "after_seq": after_seq,
        "messages": [message_payload(m, author_name=names.get(m.author_id or 0, "")) for m in msgs],
        "complete": not msgs or msgs[-1].seq >= conv.last_seq,
    }


def _post_visitor(*, contact: Contact, content: dict[str, Any], origin: str, client_ip: str = "") -> dict[str, Any]:
    posted = services.send_visitor_message(
        contact=contact,
        body=content.get("body"),
        client_msg_id=content.get("client_msg_id"),
        conversation_id=_int(content.get("conversation_id")),
        origin=origin,
        client_ip=client_ip,
    )
    return {
        "type": "ack",
        "client_msg_id": posted.message.client_msg_id,
        "duplicate": posted.duplicate,
        "message": message_payload(posted.message),
        "conversation": conversation_payload(posted.conversation),
    }


def _request_human(*, contact: Contact, conversation_id: int | None) -> dict[str, Any]:
    conv, status = services.request_human(contact=contact, conversation_id=conversation_id)
    return {
        "type": "handoff",
        "conversation_id": conv.pk,
        "reason": conv.handoff_reason,
        "conversation": conversation_payload(conv),
        **status,
    }


class InboxConsumer(_ChatSocket, TenantMemberConsumer):
    """The agent's socket: /ws/t/<tenant_slug>/inbox/ (membership and Origin checked by the base).

    The base re-reads the member's access on every frame and while events flow, and closes
    the socket (4403) once it changed: a removed member or a changed password stops
    receiving the tenant's conversations.
    """

    frame_types = frozenset({"ping", "typing"})
    group: str = ""

    async def read_access(self) -> tuple[Any, ...] | None:
        result, _box = await _run_in_thread(tenant_selectors.current_member_access, {"membership_id": self.membership.pk})
        return result

    async def dispatch_frame(self, handler: Callable[[dict[str, Any]], Awaitable[None]], content: dict[str, Any]) -> None:
        if await self.access_still_granted():
            await handler(content)

    async def chat_event(self, event: dict[str, Any]) -> None:
        if await self.access_fresh():
            await super().chat_event(event)

    async def on_connect(self) -> None:
        self.group = events.inbox_group(self.tenant.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.call(services.agent_connected, actor=self.membership, channel_name=self.channel_name)
        await self.send_json({"type": "ready", "membership_id": self.membership.pk})

    async def disconnect(self, code: int) -> None:
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)
            await self.call(services.agent_disconnected, actor=self.membership, channel_name=self.channel_name)
        await super().disconnect(code)

    async def on_ping(self, content: dict[str, Any]) -> None:
        await self.call(services.agent_heartbeat, actor=self.membership, channel_name=self.channel_name)
        await self.send_json({"type": "pong", "ref": _ref(content.get("ref"))})

    async def on_typing(self, content: dict[str, Any]) -> None:
        cid = _int(content.get("conversation_id"))
        if cid:
            await self.call(services.agent_typing, actor=self.membership, conversation_id=cid, on=bool(content.get("on")))
