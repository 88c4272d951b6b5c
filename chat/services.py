"""Writes for live chat: visitors, conversations, messages, handoff, inbox actions, CSAT.

Keyword-only functions that take the tenant's actor (a Contact for the visitor side, a
Membership for agents) explicitly. Every message insert allocates the conversation's next
`seq` in the same transaction (one `UPDATE ... RETURNING`, which also row-locks the
conversation), so seqs are contiguous per conversation even under concurrency; a failed
insert rolls the allocation back with it. Events go to the channel layer and reporting
events are written only after commit.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from chat import events, learning, ratelimit
from chat.models import (
    HANDOFF_REASONS,
    AgentPresence,
    CannedResponse,
    Contact,
    Conversation,
    ConversationLabel,
    ConversationStatus,
    CsatResponse,
    CsatState,
    EventKind,
    HandledBy,
    Label,
    Message,
    ReportingEvent,
    Sender,
)
from chat.presenters import contact_payload, conversation_payload, message_payload
from tenants.crypto import constant_time_equals, hmac_sha256_hex
from tenants.errors import ServiceError
from tenants.models import Membership, Widget

logger = logging.getLogger(__name__)

VISITOR_TOKEN_SALT = "kefu.chat.visitor"
CLIENT_MSG_ID_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
PRESENCE_TTL = timedelta(seconds=90)


# --- visitor identity -----------------------------------------------------------------


def make_visitor_token(*, contact: Contact) -> str:
    return signing.dumps({"t": contact.tenant_id, "w": contact.widget_id, "c": contact.pk}, salt=VISITOR_TOKEN_SALT)


def check_identity_hash(*, widget: Widget, user_id: str, user_hash: str) -> bool:
    expected = hmac_sha256_hex(widget.identity_secret, user_id)
    return constant_time_equals(expected, (user_hash or "").lower())


def _clean_attributes(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        return {}
    out: dict[str, Any] = {}
    for key, value in list(raw.items())[:30]:
        if isinstance(value, (str, int, float, bool)) or value is None:
            out[str(key)[:60]] = value[:300] if isinstance(value, str) else value
    return out


def resolve_visitor(
    *,
    widget: Widget,
    token: str = "",
    user_id: str = "",
    user_hash: str = "",
    name: str = "",
    attributes: Any = None,
    language: str = "",
) -> Contact:
    """The visitor behind a widget socket.

    - user_id + user_hash: the site vouches for the user (HMAC-SHA256 with the widget
      secret, compared in constant time); a wrong hash is refused (code bad_identity).
    - token: a signed visitor token for an *anonymous* contact of this widget; forged,
      expired or foreign tokens are refused (code bad_token). A verified contact's token
      is not enough: without the hash a fresh anonymous visitor starts.
    - neither: a new anonymous contact.
    """
    now = timezone.now()
    extra = {"name": (name or "")[:200], "attributes": _clean_attributes(attributes), "language": (language or "")[:16]}
    if user_id:
        user_id = str(user_id)[:200]
        if not check_identity_hash(widget=widget, user_id=user_id, user_hash=user_hash):
            raise ServiceError(_("Identity verification failed."), code="bad_identity")
        try:
            with transaction.atomic():
                contact, _created = Contact.objects.for_tenant(widget.tenant_id).get_or_create(
                    widget=widget,
                    external_user_id=user_id,
                    defaults={"tenant_id": widget.tenant_id, "verified": True, **extra},
                )
        except IntegrityError:  # created concurrently by another device
            contact = Contact.objects.for_tenant(widget.tenant_id).get(widget=widget, external_user_id=user_id)
        updates = {k: v for k, v in extra.items() if v and getattr(contact, k) != v}
        Contact.objects.for_tenant(widget.tenant_id).filter(pk=contact.pk).update(last_seen_at=now, **updates)
        return contact
    if token:
        try:
            data = signing.loads(token, salt=VISITOR_TOKEN_SALT, max_age=settings.KEFU_VISITOR_TOKEN_MAX_AGE_S)
        except signing.SignatureExpired:
            raise ServiceError(_("Your chat session expired."), code="bad_token")
        except signing.BadSignature:
            raise ServiceError(_("Invalid chat session."), code="bad_token")
        if not isinstance(data, dict) or data.get("t") != widget.tenant_id or data.get("w") != widget.pk:
            raise ServiceError(_("Invalid chat session."), code="bad_token")
        contact_or_none = (
            Contact.objects.for_tenant(widget.tenant_id)
            .filter(pk=data.get("c"), widget=widget, deleted_at__isnull=True, verified=False)
            .first()
        )
        if contact_or_none is None:
            raise ServiceError(_("Invalid chat session."), code="bad_token")
        Contact.objects.for_tenant(widget.tenant_id).filter(pk=contact_or_none.pk).update(last_seen_at=now)
        return contact_or_none
    return Contact.objects.create(tenant_id=widget.tenant_id, widget=widget, last_seen_at=now, **extra)


def set_contact_email(*, contact: Contact, email: str) -> Contact:
    """An e-mail the visitor typed: a label for follow-up, never an identity."""
    email = (email or "").strip()[:254]
    try:
        validate_email(email)
    except ValidationError:
        raise ServiceError(_("Enter a valid e-mail address."), code="email")
    Contact.objects.for_tenant(contact.tenant_id).filter(pk=contact.pk).update(email=email)
    contact.email = email
    events.emit(
        events.inbox_group(contact.tenant_id), {"type": "contact", "contact": contact_payload(contact)}
    )
    return contact


# --- reporting ------------------------------------------------------------------------


def _report(
    conversation: Conversation,
    kind: str,
    *,
    agent_id: int | None = None,
    reason: str | None = None,
    value: float | None = None,
    data: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> None:
    row = ReportingEvent(
        tenant_id=conversation.tenant_id,
        conversation_id=conversation.pk,
        kind=kind,
        at=at or timezone.now(),
        widget_id=conversation.widget_id,
        agent_id=agent_id,
        reason=reason,
        value=value,
        data=data or {},
    )
    transaction.on_commit(lambda: row.save(force_insert=True))


# --- messages -------------------------------------------------------------------------


@dataclass
class Posted:
    message: Message
    conversation: Conversation
    duplicate: bool = False


def _allocate_seq(*, tenant_id: int, conversation_id: int, preview: str | None) -> tuple[int, str, str]:
    """Next seq of the conversation; row-locks it until the transaction ends."""
    table = Conversation._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET last_seq = last_seq + 1, last_message_at = %s, "  # noqa: S608 - table name from _meta
            "last_message_preview = COALESCE(%s, last_message_preview) "
            "WHERE id = %s AND tenant_id = %s RETURNING last_seq, status, handled_by",
            [timezone.now(), preview, conversation_id, tenant_id],
        )
        row = cursor.fetchone()
    if row is None:
        raise ServiceError(_("Conversation not found."), code="not_found")
    return int(row[0]), str(row[1]), str(row[2])


def _append(*, conversation: Conversation, sender: str, body: str, **fields: Any) -> Message:
    """Insert one message with the next seq. Call inside transaction.atomic()."""
    preview = None if sender == Sender.NOTE else body[:200]
    seq, status, handled_by = _allocate_seq(
        tenant_id=conversation.tenant_id, conversation_id=conversation.pk, preview=preview
    )
    conversation.last_seq, conversation.status, conversation.handled_by = seq, status, handled_by
    if preview is not None:
        conversation.last_message_preview = preview
    msg = Message.objects.create(
        tenant_id=conversation.tenant_id, conversation_id=conversation.pk, seq=seq, sender=sender, body=body, **fields
    )
    return msg


def _fan_out(
    msg: Message, conversation: Conversation, *, origin: str = "", author_name: str = "", to_visitor: bool = True
) -> None:
    """Tell the other side (and the visitor's other tabs) about a committed message."""
    events.emit(
        events.inbox_group(conversation.tenant_id),
        {
            "type": "message",
            "message": message_payload(msg, for_agent=True, author_name=author_name),
            "conversation": conversation_payload(conversation, for_agent=True),
        },
    )
    if to_visitor and msg.sender != Sender.NOTE:
        events.emit(
            events.visitor_group(conversation.tenant_id, conversation.contact_id),
            {
                "type": "message",
                "message": message_payload(msg, author_name=author_name),
                "conversation": conversation_payload(conversation),
            },
            origin=origin,
        )


def _system(conversation: Conversation, event: str, body: str, **fields: Any) -> Message:
    msg = _append(conversation=conversation, sender=Sender.SYSTEM, body=body, event=event, **fields)
    _fan_out(msg, conversation)
    return msg


def _clean_body(body: Any) -> str:
    if not isinstance(body, str):
        raise ServiceError(_("A message must be text."), code="invalid")
    body = body.strip()
    if not body:
        raise ServiceError(_("The message is empty."), code="empty")
    if len(body) > settings.KEFU_MAX_MESSAGE_CHARS:
        raise ServiceError(
            _("The message is too long (at most %(n)d characters).") % {"n": settings.KEFU_MAX_MESSAGE_CHARS},
            code="too_long",
        )
    return body


def _clean_client_msg_id(client_msg_id: Any) -> str:
    if not isinstance(client_msg_id, str) or not CLIENT_MSG_ID_RE.match(client_msg_id):
        raise ServiceError(_("client_msg_id must be 1-64 letters, digits, _ . : or -."), code="bad_client_msg_id")
    return client_msg_id


def _contact_conversation(contact: Contact, conversation_id: int) -> Conversation:
    conv = (
        Conversation.objects.for_tenant(contact.tenant_id)
        .filter(pk=conversation_id, contact_id=contact.pk, widget_id=contact.widget_id)
        .first()
    )
    if conv is None:
        raise ServiceError(_("Conversation not found."), code="not_found")
    return conv


def _new_conversation(contact: Contact) -> Conversation:
    conv = Conversation.objects.create(tenant_id=contact.tenant_id, widget_id=contact.widget_id, contact=contact)
    _report(conv, EventKind.CONVERSATION_CREATED, data={"contact_id": contact.pk}, at=conv.created_at)
    return conv


def _visitor_insert_sql() -> tuple[str, list[str], list[Any]]:
    """One statement for the hot path (PostgreSQL): allocate the seq and wake a snoozed or
    pending conversation (UPDATE ... RETURNING, only if it is this contact's and not
    resolved), insert the message and its `visitor_message` reporting event.

    Built from the models' metadata, so a new Message field with a default needs no
    change here. Returns (sql, conversation attnames, message default params); the caller
    fills the %(name)s parameters.
    """
    conv_fields = Conversation._meta.concrete_fields
    conv_cols = ", ".join(connection.ops.quote_name(f.column) for f in conv_fields)
    fixed_msg = {"tenant_id": "c.tenant_id", "conversation_id": "c.id", "seq": "c.last_seq"}
    given = {"client_msg_id": "%(cmid)s", "sender": "%(sender)s", "body": "%(body)s", "created_at": "%(now)s"}
    msg_cols: list[str] = []
    msg_vals: list[str] = []
    defaults: list[Any] = []
    for f in Message._meta.concrete_fields:
        if f.primary_key:
            continue
        msg_cols.append(connection.ops.quote_name(f.column))
        if f.column in fixed_msg:
            msg_vals.append(fixed_msg[f.column])
        elif f.attname in given:
            msg_vals.append(given[f.attname])
        else:
            msg_vals.append(f"%(d{len(defaults)})s")
            defaults.append(f.get_db_prep_save(f.get_default(), connection))
    ev_fixed = {
        "tenant_id": "c.tenant_id",
        "conversation_id": "c.id",
        "widget_id": "c.widget_id",
        "kind": "%(kind)s",
        "at": "%(now)s",
        "data": "jsonb_build_object('message_id', m.id, 'seq', m.seq)",
    }
    ev_cols, ev_vals = [], []
    for f in ReportingEvent._meta.concrete_fields:
        if f.primary_key:
            continue
        ev_cols.append(connection.ops.quote_name(f.column))
        ev_vals.append(ev_fixed.get(f.column, "NULL"))
    sql = (
        # Identifiers come from the models' _meta; every value is a bound parameter.
        f"WITH c AS (UPDATE {Conversation._meta.db_table} SET last_seq = last_seq + 1, "  # noqa: S608
        "last_message_at = %(now)s, "
        "last_message_preview = %(preview)s, "
        "status = CASE WHEN status IN ('snoozed', 'pending') THEN 'open' ELSE status END, "
        "snoozed_until = CASE WHEN status IN ('snoozed', 'pending') THEN NULL ELSE snoozed_until END "
        "WHERE id = %(cid)s AND tenant_id = %(tid)s AND contact_id = %(contact)s AND widget_id = %(widget)s "
        f"AND status <> 'resolved' RETURNING {conv_cols}), "
        f"m AS (INSERT INTO {Message._meta.db_table} ({', '.join(msg_cols)}) SELECT {', '.join(msg_vals)} FROM c "
        "RETURNING id, seq), "
        f"e AS (INSERT INTO {ReportingEvent._meta.db_table} ({', '.join(ev_cols)}) "
        f"SELECT {', '.join(ev_vals)} FROM c, m) "
        "SELECT m.id, c.* FROM c, m"
    )
    return sql, [f.attname for f in conv_fields], defaults


_VISITOR_SQL: tuple[str, list[str], list[Any]] | None = None


def _post_to_open_conversation(
    *, contact: Contact, conversation_id: int, cmid: str, text: str
) -> tuple[Message, Conversation] | None:
    """The hot path: append to the contact's given conversation if it is not resolved.

    On PostgreSQL one statement in autocommit (one round trip: seq allocation, insert,
    reporting event, atomic together); elsewhere one short transaction. None when the
    conversation is not this contact's or is resolved (the caller takes the slow path).
    Raises IntegrityError when client_msg_id exists in this conversation (a resend).
    """
    global _VISITOR_SQL
    now = timezone.now()
    preview = text[:200]
    if connection.vendor != "postgresql":
        with transaction.atomic():
            conv = (
                Conversation.objects.for_tenant(contact.tenant_id)
                .select_for_update()
                .filter(pk=conversation_id, contact_id=contact.pk, widget_id=contact.widget_id)
                .exclude(status=ConversationStatus.RESOLVED)
                .first()
            )
            if conv is None:
                return None
            msg = _append(conversation=conv, sender=Sender.VISITOR, body=text, client_msg_id=cmid)
            if conv.status in (ConversationStatus.SNOOZED, ConversationStatus.PENDING):
                _set_fields(conv, status=ConversationStatus.OPEN, snoozed_until=None)
            ReportingEvent.objects.create(
                tenant_id=conv.tenant_id, conversation_id=conv.pk, kind=EventKind.VISITOR_MESSAGE, at=now,
                widget_id=conv.widget_id, data={"message_id": msg.pk, "seq": msg.seq},
            )
        return msg, conv
    if _VISITOR_SQL is None:
        _VISITOR_SQL = _visitor_insert_sql()
    sql, conv_names, defaults = _VISITOR_SQL
    params: dict[str, Any] = {
        "now": now, "preview": preview, "cid": conversation_id, "tid": contact.tenant_id, "contact": contact.pk,
        "widget": contact.widget_id, "cmid": cmid, "sender": Sender.VISITOR.value, "body": text,
        "kind": EventKind.VISITOR_MESSAGE.value, **{f"d{i}": v for i, v in enumerate(defaults)},
    }

    def run() -> Any:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()

    if connection.in_atomic_block:
        with transaction.atomic():  # a savepoint: a duplicate must not break the caller's transaction
            row = run()
    else:
        row = run()  # autocommit: the statement is its own transaction
    if row is None:
        return None
    conv = Conversation.from_db(connection.alias, conv_names, row[1:])
    msg = Message(
        tenant_id=conv.tenant_id, conversation_id=conv.pk, seq=conv.last_seq, client_msg_id=cmid,
        sender=Sender.VISITOR, body=text, created_at=now,
    )
    msg.pk = row[0]
    msg._state.adding = False
    return msg, conv


def _existing_visitor_message(contact: Contact, cmid: str) -> Message | None:
    return (
        Message.objects.for_tenant(contact.tenant_id)
        .filter(conversation__contact_id=contact.pk, client_msg_id=cmid, sender=Sender.VISITOR)
        .select_related("conversation")
        .first()
    )


def _after_visitor_message(msg: Message, conv: Conversation, origin: str) -> None:
    _fan_out(msg, conv, origin=origin)
    if conv.handled_by == HandledBy.BOT:
        from chat.tasks import enqueue_respond

        enqueue_respond(conv.tenant_id, msg.pk)


def send_visitor_message(
    *, contact: Contact, body: Any, client_msg_id: Any, conversation_id: int | None = None, origin: str = ""
) -> Posted:
    """Persist a visitor message exactly once per client_msg_id; the caller acks after return.

    Goes to `conversation_id` if it is this contact's and not resolved; otherwise to the
    contact's open conversation, or a new one (a resolved conversation stays closed).

    Hot path (a conversation_id the widget got with its last ack): one statement; a resend
    hits the unique (tenant, conversation, client_msg_id) constraint and returns the stored
    message. Other cases look the client_msg_id up across the contact's conversations first.
    """
    cmid = _clean_client_msg_id(client_msg_id)
    text = _clean_body(body)
    if not ratelimit.hit(f"v:{contact.pk}", settings.KEFU_VISITOR_MESSAGES_PER_MINUTE):
        raise ServiceError(_("You are sending messages too fast. Please wait a moment."), code="rate_limited")
    if not ratelimit.hit(f"w:{contact.widget_id}", settings.KEFU_WIDGET_MESSAGES_PER_MINUTE):
        raise ServiceError(_("This chat is very busy right now. Please try again shortly."), code="rate_limited")
    if conversation_id:
        try:
            fast = _post_to_open_conversation(contact=contact, conversation_id=int(conversation_id), cmid=cmid, text=text)
        except IntegrityError:
            fast = None
            existing = _existing_visitor_message(contact, cmid)
            if existing is None:
                raise
            return Posted(existing, existing.conversation, duplicate=True)
        if fast is not None:
            msg, conv = fast
            _after_visitor_message(msg, conv, origin)
            return Posted(msg, conv)
        _contact_conversation(contact, int(conversation_id))  # another visitor's: not_found
    existing = _existing_visitor_message(contact, cmid)
    if existing is not None:
        return Posted(existing, existing.conversation, duplicate=True)
    try:
        with transaction.atomic():
            conv = (
                Conversation.objects.for_tenant(contact.tenant_id)
                .filter(contact_id=contact.pk)
                .exclude(status=ConversationStatus.RESOLVED)
                .order_by("-created_at")
                .first()
            ) or _new_conversation(contact)
            msg = _append(conversation=conv, sender=Sender.VISITOR, body=text, client_msg_id=cmid)
            if conv.status in (ConversationStatus.SNOOZED, ConversationStatus.PENDING):
                _set_fields(conv, status=ConversationStatus.OPEN, snoozed_until=None)
            _report(conv, EventKind.VISITOR_MESSAGE, data={"message_id": msg.pk, "seq": msg.seq}, at=msg.created_at)
            _after_visitor_message(msg, conv, origin)
    except IntegrityError:
        # The same client_msg_id committed concurrently (another tab, a resend): one message.
        existing = _existing_visitor_message(contact, cmid)
        if existing is None:
            raise
        return Posted(existing, existing.conversation, duplicate=True)
    return Posted(msg, conv)


def _first_human_reply_check(conv: Conversation, actor_id: int | None, now: datetime) -> bool:
    """Reports the cycle's first human reply; True when this is it."""
    start = max(d for d in (conv.created_at, conv.handed_off_at, conv.reopened_at) if d is not None)
    replied = (
        Message.objects.for_tenant(conv.tenant_id)
        .filter(conversation_id=conv.pk, sender=Sender.AGENT, created_at__gte=start)
        .exists()
    )
    if not replied:
        _report(
            conv,
            EventKind.FIRST_HUMAN_REPLY,
            agent_id=actor_id,
            value=(now - start).total_seconds(),
            data={"cycle": conv.cycle, "since": start.isoformat()},
            at=now,
        )
    return not replied


def _agent_conversation(actor: Membership, conversation_id: int, *, lock: bool = False) -> Conversation:
    qs = Conversation.objects.for_tenant(actor.tenant_id).filter(pk=conversation_id)
    if lock:
        qs = qs.select_for_update()
    conv = qs.first()
    if conv is None:
        raise ServiceError(_("Conversation not found."), code="not_found")
    return conv


def _actor_id(actor: Membership) -> int | None:
    return actor.pk if actor.pk else None


def _actor_name(actor: Membership) -> str:
    if actor.pk is None or actor.user_id is None:
        return str(_("Support"))
    return actor.name


def agent_send(
    *, actor: Membership, conversation_id: int, body: Any, note: bool = False, client_msg_id: Any = None
) -> Posted:
    """An agent's reply (or private note). Replying to a bot-handled conversation takes it over."""
    text = _clean_body(body)
    cmid = _clean_client_msg_id(client_msg_id) if client_msg_id else None
    now = timezone.now()
    try:
        with transaction.atomic():
            conv = _agent_conversation(actor, conversation_id, lock=True)
            if cmid:
                dup = Message.objects.for_tenant(actor.tenant_id).filter(conversation_id=conv.pk, client_msg_id=cmid).first()
                if dup is not None:
                    return Posted(dup, conv, duplicate=True)
            if not note:
                # Before the take-over: a handoff would set the status back to open.
                if conv.status == ConversationStatus.RESOLVED:
                    raise ServiceError(_("Reopen the conversation before replying."), code="resolved")
                if conv.handled_by == HandledBy.BOT:
                    _take_over_locked(actor, conv)
                first_reply = _first_human_reply_check(conv, _actor_id(actor), now)
            msg = _append(
                conversation=conv,
                sender=Sender.NOTE if note else Sender.AGENT,
                body=text,
                author_id=_actor_id(actor),
                client_msg_id=cmid,
            )
            if not note:
                _report(conv, EventKind.AGENT_REPLIED, agent_id=_actor_id(actor), at=now)
                if first_reply and conv.handoff_reason and conv.handoff_reason != "agent_takeover":
                    learning.human_answered(conversation=conv, answer=msg)
                if conv.status in (ConversationStatus.SNOOZED, ConversationStatus.PENDING):
                    _set_fields(conv, status=ConversationStatus.OPEN, snoozed_until=None)
            _fan_out(msg, conv, author_name=_actor_name(actor))
    except IntegrityError:
        dup = Message.objects.for_tenant(actor.tenant_id).filter(conversation_id=conversation_id, client_msg_id=cmid).first()
        if dup is None:
            raise
        return Posted(dup, _agent_conversation(actor, conversation_id), duplicate=True)
    return Posted(msg, conv)


def _set_fields(conv: Conversation, **fields: Any) -> None:
    for key, value in fields.items():
        setattr(conv, key, value)
    Conversation.objects.for_tenant(conv.tenant_id).filter(pk=conv.pk).update(**fields)


def _conversation_changed(conv: Conversation) -> None:
    events.emit(
        events.inbox_group(conv.tenant_id),
        {"type": "conversation", "conversation": conversation_payload(conv, for_agent=True)},
    )
    events.emit(
        events.visitor_group(conv.tenant_id, conv.contact_id),
        {"type": "conversation", "conversation": conversation_payload(conv)},
    )


# --- handoff and inbox actions ----------------------------------------------------------


def handoff_status(*, conversation: Conversation) -> dict[str, Any]:
    """What the visitor is told after a handoff: the queue position while agents are
    online, else that we will reply by e-mail (the widget then asks for an address)."""
    from chat import selectors

    online = selectors.agents_online(tenant_id=conversation.tenant_id)
    data: dict[str, Any] = {"agents_online": online, "position": None}
    if online and conversation.assignee_id is None:
        data["position"] = selectors.queue_position(conversation=conversation)
    return data


def _handoff_locked(conv: Conversation, reason: str, *, now: datetime | None = None) -> None:
    if reason not in HANDOFF_REASONS:
        raise ServiceError(_("Unknown handoff reason."), code="invalid")
    now = now or timezone.now()
    _set_fields(conv, handled_by=HandledBy.HUMAN, handoff_reason=reason, handed_off_at=now)
    if conv.status != ConversationStatus.OPEN:
        _set_fields(conv, status=ConversationStatus.OPEN, snoozed_until=None)
    _report(conv, EventKind.HANDOFF, reason=reason, at=now)


def request_human(*, contact: Contact, conversation_id: int | None = None) -> tuple[Conversation, dict[str, Any]]:
    """'Talk to a human': hand off with reason visitor_request (a new conversation if none)."""
    with transaction.atomic():
        conv = None
        if conversation_id:
            conv = _contact_conversation(contact, int(conversation_id))
            if conv.status == ConversationStatus.RESOLVED:
                conv = None
        if conv is None:
            conv = (
                Conversation.objects.for_tenant(contact.tenant_id)
                .filter(contact_id=contact.pk)
                .exclude(status=ConversationStatus.RESOLVED)
                .order_by("-created_at")
                .first()
            ) or _new_conversation(contact)
        conv = Conversation.objects.for_tenant(contact.tenant_id).select_for_update().get(pk=conv.pk)
        if conv.handled_by == HandledBy.BOT:
            _handoff_locked(conv, "visitor_request")
            _system(conv, "handoff", str(_("You asked for a person. An agent will take over this conversation.")))
            _conversation_changed(conv)
    return conv, handoff_status(conversation=conv)


def _take_over_locked(actor: Membership, conv: Conversation) -> None:
    now = timezone.now()
    if conv.handled_by == HandledBy.BOT:
        learning.taken_over(conversation=conv)
        _handoff_locked(conv, "agent_takeover", now=now)
    if conv.assignee_id != _actor_id(actor):
        _set_fields(conv, assignee_id=_actor_id(actor))
        _report(conv, EventKind.ASSIGNED, agent_id=_actor_id(actor), at=now)
    _system(
        conv,
        "agent_joined",
        str(_("%(name)s joined the conversation.") % {"name": _actor_name(actor)}),
        author_id=_actor_id(actor),
    )
    _conversation_changed(conv)


def take_over(*, actor: Membership, conversation_id: int) -> Conversation:
    with transaction.atomic():
        conv = _agent_conversation(actor, conversation_id, lock=True)
        if conv.status == ConversationStatus.RESOLVED:
            raise ServiceError(_("Reopen the conversation first."), code="resolved")
        if conv.handled_by == HandledBy.HUMAN and conv.assignee_id == _actor_id(actor):
            return conv
        _take_over_locked(actor, conv)
    return conv


def assign(*, actor: Membership, conversation_id: int, membership_id: int | None) -> Conversation:
    with transaction.atomic():
        conv = _agent_conversation(actor, conversation_id, lock=True)
        if membership_id is not None:
            member = Membership.objects.for_tenant(actor.tenant_id).filter(pk=membership_id).first()
            if member is None:
                raise ServiceError(_("Member not found."), code="invalid")
        if conv.assignee_id == membership_id:
            return conv
        _set_fields(conv, assignee_id=membership_id)
        if membership_id is not None:
            _report(conv, EventKind.ASSIGNED, agent_id=membership_id, data={"by": _actor_id(actor)})
        _conversation_changed(conv)
    return conv


def _resolve_locked(conv: Conversation, *, agent_id: int | None, by: str, now: datetime) -> None:
    """Resolve the current care cycle and ask for a CSAT rating (once per cycle).

    `by`: agent | visitor (clicked "This solved my problem") | auto (idle bot conversation).
    The resolved event's data.handled_by says who handled the cycle (bot or human).
    """
    start = conv.reopened_at or conv.created_at
    _set_fields(conv, status=ConversationStatus.RESOLVED, resolved_at=now, snoozed_until=None)
    _report(
        conv,
        EventKind.RESOLVED,
        agent_id=agent_id,
        value=(now - start).total_seconds(),
        data={"cycle": conv.cycle, "handled_by": conv.handled_by, "by": by},
        at=now,
    )
    _system(conv, "resolved", str(_("This conversation was resolved.")))
    _set_fields(conv, csat_state=CsatState.REQUESTED)
    _report(conv, EventKind.CSAT_SENT, agent_id=conv.assignee_id, data={"cycle": conv.cycle}, at=now)
    _conversation_changed(conv)


def resolve(*, actor: Membership, conversation_id: int) -> Conversation:
    """Resolve the current care cycle and ask the visitor for a CSAT rating (once per cycle)."""
    now = timezone.now()
    with transaction.atomic():
        conv = _agent_conversation(actor, conversation_id, lock=True)
        if conv.status == ConversationStatus.RESOLVED:
            return conv
        _resolve_locked(conv, agent_id=_actor_id(actor) or conv.assignee_id, by="agent", now=now)
    return conv


def confirm_resolution(*, contact: Contact, message_id: int) -> Conversation:
    """The visitor clicked "This solved my problem" under a bot answer.

    Records `resolution_confirmed` and resolves the conversation as the bot (resolved with
    data.handled_by="bot", then the CSAT ask). Only while the bot handles the conversation:
    once a person took over, the person resolves. Idempotent: a second click (another tab)
    on a conversation already resolved changes nothing.
    """
    now = timezone.now()
    with transaction.atomic():
        msg = (
            Message.objects.for_tenant(contact.tenant_id)
            .filter(
                pk=message_id,
                sender=Sender.BOT,
                conversation__contact_id=contact.pk,
                conversation__widget_id=contact.widget_id,
            )
            .first()
        )
        if msg is None:
            raise ServiceError(_("Message not found."), code="not_found")
        conv = Conversation.objects.for_tenant(contact.tenant_id).select_for_update().get(pk=msg.conversation_id)
        if conv.status == ConversationStatus.RESOLVED:
            return conv
        if conv.handled_by != HandledBy.BOT:
            raise ServiceError(_("A person is handling this conversation now."), code="handled_by_human")
        _report(
            conv, EventKind.RESOLUTION_CONFIRMED, data={"message_id": msg.pk, "cycle": conv.cycle}, at=now
        )
        _resolve_locked(conv, agent_id=None, by="visitor", now=now)
    return conv


def bot_auto_resolve_after() -> timedelta | None:
    """Idle time after which a bot-handled conversation is resolved by the bot (None: off).

    settings.KEFU_BOT_AUTO_RESOLVE_AFTER_S (env of the same name), default 24 h; 0 turns
    it off.
    """
    seconds = int(getattr(settings, "KEFU_BOT_AUTO_RESOLVE_AFTER_S", 24 * 3600))
    return timedelta(seconds=seconds) if seconds > 0 else None


def auto_resolve_idle(*, tenant_id: int, now: datetime | None = None, idle: timedelta | None = None) -> int:
    """Resolve the tenant's bot-handled conversations idle for `idle` (default: the setting).

    A conversation qualifies when it is open, the bot handles it (no handoff), the bot
    answered at least once, no person wrote in it, nothing happened for `idle`, and its
    last visitor/bot/agent message is the bot's (an unanswered visitor message is never
    closed as resolved). Each one is re-checked under its row lock.
    """
    now = now or timezone.now()
    idle = idle or bot_auto_resolve_after()
    if idle is None:
        return 0
    cutoff = now - idle
    candidates = list(
        Conversation.objects.for_tenant(tenant_id)
        .filter(
            status=ConversationStatus.OPEN,
            handled_by=HandledBy.BOT,
            handed_off_at__isnull=True,
            bot_turns__gt=0,
            last_message_at__lte=cutoff,
        )
        .order_by("last_message_at")
        .values_list("pk", flat=True)[:500]
    )
    done = 0
    for pk in candidates:
        with transaction.atomic():
            conv = (
                Conversation.objects.for_tenant(tenant_id)
                .select_for_update()
                .filter(
                    pk=pk,
                    status=ConversationStatus.OPEN,
                    handled_by=HandledBy.BOT,
                    handed_off_at__isnull=True,
                    last_message_at__lte=cutoff,
                )
                .first()
            )
            if conv is None:
                continue
            msgs = Message.objects.for_tenant(tenant_id).filter(conversation_id=pk)
            if msgs.filter(sender=Sender.AGENT).exists():
                continue
            last = (
                msgs.filter(sender__in=[Sender.VISITOR, Sender.BOT, Sender.AGENT])
                .order_by("-seq")
                .values_list("sender", flat=True)
                .first()
            )
            if last != Sender.BOT:
                continue
            _resolve_locked(conv, agent_id=None, by="auto", now=now)
            done += 1
    return done


def reopen(*, actor: Membership, conversation_id: int) -> Conversation:
    now = timezone.now()
    with transaction.atomic():
        conv = _agent_conversation(actor, conversation_id, lock=True)
        if conv.status != ConversationStatus.RESOLVED:
            return conv
        _set_fields(
            conv,
            status=ConversationStatus.OPEN,
            reopened_at=now,
            resolved_at=None,
            cycle=conv.cycle + 1,
            csat_state=CsatState.NONE,
        )
        _report(conv, EventKind.REOPENED, agent_id=_actor_id(actor), data={"cycle": conv.cycle}, at=now)
        _system(conv, "reopened", str(_("The conversation was reopened.")))
        _conversation_changed(conv)
    return conv


def snooze(*, actor: Membership, conversation_id: int, until: datetime) -> Conversation:
    if until <= timezone.now():
        raise ServiceError(_("Pick a time in the future."), code="invalid")
    with transaction.atomic():
        conv = _agent_conversation(actor, conversation_id, lock=True)
        if conv.status == ConversationStatus.RESOLVED:
            raise ServiceError(_("Reopen the conversation first."), code="resolved")
        _set_fields(conv, status=ConversationStatus.SNOOZED, snoozed_until=until)
        _conversation_changed(conv)
    return conv


def set_status_pending(*, actor: Membership, conversation_id: int) -> Conversation:
    with transaction.atomic():
        conv = _agent_conversation(actor, conversation_id, lock=True)
        if conv.status == ConversationStatus.RESOLVED:
            raise ServiceError(_("Reopen the conversation first."), code="resolved")
        _set_fields(conv, status=ConversationStatus.PENDING, snoozed_until=None)
        _conversation_changed(conv)
    return conv


def wake_snoozed(*, tenant_id: int) -> int:
    """Snoozed conversations whose time has come go back to open."""
    return (
        Conversation.objects.for_tenant(tenant_id)
        .filter(status=ConversationStatus.SNOOZED, snoozed_until__lte=timezone.now())
        .update(status=ConversationStatus.OPEN, snoozed_until=None)
    )


def set_labels(*, actor: Membership, conversation_id: int, label_ids: list[int]) -> list[Label]:
    with transaction.atomic():
        conv = _agent_conversation(actor, conversation_id, lock=True)
        labels = list(Label.objects.for_tenant(actor.tenant_id).filter(pk__in=label_ids))
        if len(labels) != len(set(label_ids)):
            raise ServiceError(_("Unknown label."), code="invalid")
        ConversationLabel.objects.for_tenant(actor.tenant_id).filter(conversation_id=conv.pk).exclude(
            label_id__in=[label.pk for label in labels]
        ).delete()
        have = set(
            ConversationLabel.objects.for_tenant(actor.tenant_id)
            .filter(conversation_id=conv.pk)
            .values_list("label_id", flat=True)
        )
        ConversationLabel.objects.bulk_create(
            [
                ConversationLabel(tenant_id=actor.tenant_id, conversation_id=conv.pk, label_id=label.pk)
                for label in labels
                if label.pk not in have
            ]
        )
        events.emit(
            events.inbox_group(actor.tenant_id),
            {"type": "labels", "conversation_id": conv.pk, "labels": [{"id": x.pk, "name": x.name} for x in labels]},
        )
    return labels


def create_label(*, actor: Membership, name: str, color: str = "#64748b") -> Label:
    name = (name or "").strip()[:60]
    if not name:
        raise ServiceError(_("Give the label a name."), code="invalid")
    if not re.match(r"^#[0-9a-fA-F]{6}$", color or ""):
        raise ServiceError(_("Colour must look like #2563eb."), code="invalid")
    try:
        with transaction.atomic():
            return Label.objects.create(tenant_id=actor.tenant_id, name=name, color=color)
    except IntegrityError:
        raise ServiceError(_("A label with this name exists."), code="duplicate")


def delete_label(*, actor: Membership, label_id: int) -> None:
    deleted, _rows = Label.objects.for_tenant(actor.tenant_id).filter(pk=label_id).delete()
    if not deleted:
        raise ServiceError(_("Label not found."), code="not_found")


def create_canned_response(*, actor: Membership, shortcut: str, text: str) -> CannedResponse:
    shortcut = (shortcut or "").strip().lstrip("/").lower()
    if not re.match(r"^[a-z0-9_-]{1,40}$", shortcut):
        raise ServiceError(_("A shortcut is 1-40 letters, digits, - or _."), code="invalid")
    text = (text or "").strip()
    if not text:
        raise ServiceError(_("The response text is empty."), code="invalid")
    try:
        with transaction.atomic():
            return CannedResponse.objects.create(tenant_id=actor.tenant_id, shortcut=shortcut, text=text[:4000])
    except IntegrityError:
        raise ServiceError(_("This shortcut is taken."), code="duplicate")


def delete_canned_response(*, actor: Membership, canned_id: int) -> None:
    deleted, _rows = CannedResponse.objects.for_tenant(actor.tenant_id).filter(pk=canned_id).delete()
    if not deleted:
        raise ServiceError(_("Canned response not found."), code="not_found")


# --- visitor actions after resolve, read state, feedback --------------------------------


def submit_csat(*, contact: Contact, conversation_id: int, rating: Any, comment: str = "") -> CsatResponse:
    try:
        rating = int(rating)
    except (TypeError, ValueError):
        rating = 0
    if not 1 <= rating <= 5:
        raise ServiceError(_("Rate from 1 to 5."), code="invalid")
    with transaction.atomic():
        conv = _contact_conversation(contact, conversation_id)
        conv = Conversation.objects.for_tenant(contact.tenant_id).select_for_update().get(pk=conv.pk)
        if conv.csat_state != CsatState.REQUESTED:
            raise ServiceError(_("This conversation has no open survey."), code="no_survey")
        try:
            with transaction.atomic():
                response = CsatResponse.objects.create(
                    tenant_id=contact.tenant_id,
                    conversation_id=conv.pk,
                    cycle=conv.cycle,
                    rating=rating,
                    comment=(comment or "").strip()[:2000],
                    agent_id=conv.assignee_id,
                )
        except IntegrityError:
            raise ServiceError(_("You already rated this conversation."), code="duplicate")
        _set_fields(conv, csat_state=CsatState.ANSWERED)
        _report(
            conv, EventKind.CSAT_ANSWERED, agent_id=conv.assignee_id, value=float(rating), data={"cycle": conv.cycle}
        )
        learning.csat_answered(conversation=conv, rating=rating)
        events.emit(
            events.inbox_group(contact.tenant_id),
            {
                "type": "csat",
                "conversation_id": conv.pk,
                "rating": rating,
                "comment": response.comment,
                "cycle": conv.cycle,
            },
        )
        _conversation_changed(conv)
    return response


def mark_read(*, tenant_id: int, conversation: Conversation, side: str, seq: int, origin: str = "") -> None:
    field = "visitor_read_seq" if side == "visitor" else "agent_read_seq"
    seq = max(0, min(int(seq), conversation.last_seq or int(seq)))
    updated = (
        Conversation.objects.for_tenant(tenant_id)
        .filter(pk=conversation.pk, **{f"{field}__lt": seq})
        .update(**{field: seq})
    )
    if not updated:
        return
    payload = {"type": "read", "conversation_id": conversation.pk, "side": side, "seq": seq}
    if side == "visitor":
        events.emit(events.inbox_group(tenant_id), payload)
    else:
        events.emit(events.visitor_group(tenant_id, conversation.contact_id), payload, origin=origin)


def visitor_read(*, contact: Contact, conversation_id: int, seq: Any, origin: str = "") -> None:
    conv = _contact_conversation(contact, int(conversation_id))
    mark_read(tenant_id=contact.tenant_id, conversation=conv, side="visitor", seq=int(seq), origin=origin)


def agent_read(*, actor: Membership, conversation_id: int, seq: int) -> None:
    conv = _agent_conversation(actor, conversation_id)
    mark_read(tenant_id=actor.tenant_id, conversation=conv, side="agent", seq=seq)


def message_feedback(*, contact: Contact, message_id: int, value: Any) -> None:
    """Thumbs up/down on a bot message (training data and a reporting event)."""
    if value not in (1, -1):
        raise ServiceError(_("Feedback is +1 or -1."), code="invalid")
    msg = (
        Message.objects.for_tenant(contact.tenant_id)
        .filter(pk=message_id, sender=Sender.BOT, conversation__contact_id=contact.pk)
        .select_related("conversation")
        .first()
    )
    if msg is None:
        raise ServiceError(_("Message not found."), code="not_found")
    with transaction.atomic():
        Message.objects.for_tenant(contact.tenant_id).filter(pk=msg.pk).update(feedback=value)
        _report(msg.conversation, EventKind.FEEDBACK, value=float(value), data={"message_id": msg.pk})
        learning.visitor_thumbs(bot_message=msg, value=value)


def typing(*, tenant_id: int, conversation: Conversation, side: str, on: bool, origin: str = "") -> None:
    payload = {"type": "typing", "conversation_id": conversation.pk, "side": side, "on": bool(on)}
    if side == "visitor":
        events.send_now(events.inbox_group(tenant_id), payload)
    else:
        events.send_now(events.visitor_group(tenant_id, conversation.contact_id), payload, origin=origin)


# --- the bot side (called by chat.tasks.respond) ----------------------------------------


def post_bot_result(*, tenant_id: int, inbound_id: int, result: dict[str, Any]) -> Message | None:
    """Persist the bot's answer to one inbound visitor message exactly once, or hand off.

    Returns None when nothing was posted: the reply exists already (redelivered task) or a
    human took the conversation over meanwhile.
    """
    action = result.get("action")
    reason = result.get("handoff_reason") or ("no_answer" if action == "handoff" else None)
    if reason is not None and reason not in HANDOFF_REASONS:
        reason = "policy"
    intent = result.get("intent") or {}
    sentiment = result.get("sentiment") or {}
    text = str(result.get("text") or "").strip()
    if action == "handoff" and not text:
        text = str(_("I'm handing you over to a person who can help."))
    text = text[: max(settings.KEFU_MAX_MESSAGE_CHARS, 4000)] or str(_("Sorry, I have no answer to that."))
    now = timezone.now()
    try:
        with transaction.atomic():
            inbound = Message.objects.for_tenant(tenant_id).filter(pk=inbound_id).first()
            if inbound is None:
                return None
            conv = Conversation.objects.for_tenant(tenant_id).select_for_update().get(pk=inbound.conversation_id)
            if conv.handled_by != HandledBy.BOT or conv.status == ConversationStatus.RESOLVED:
                return None
            if Message.objects.for_tenant(tenant_id).filter(reply_to_id=inbound.pk, sender=Sender.BOT).exists():
                return None
            msg = _append(
                conversation=conv,
                sender=Sender.BOT,
                body=text,
                reply_to_id=inbound.pk,
                intent=(intent.get("name") or None),
                intent_confidence=intent.get("confidence"),
                sentiment=sentiment.get("label"),
                sentiment_score=sentiment.get("score"),
                language=str(result.get("language") or "")[:16],
                explanation=result.get("explanation") or {},
                citations=result.get("citations") or [],
            )
            # Sentiment is about the visitor's message: keep it on the inbound row as well.
            if sentiment.get("label"):
                Message.objects.for_tenant(tenant_id).filter(pk=inbound.pk).update(
                    sentiment=sentiment.get("label"),
                    sentiment_score=sentiment.get("score"),
                    intent=(intent.get("name") or None),
                    intent_confidence=intent.get("confidence"),
                )
            _set_fields(conv, bot_turns=conv.bot_turns + 1)
            _report(
                conv,
                EventKind.BOT_REPLIED,
                value=intent.get("confidence"),
                data={
                    "action": action,
                    "intent": intent.get("name"),
                    # The visitor's sentiment (the inbound message's label, as stored above).
                    "sentiment": sentiment.get("label") or None,
                    "message_id": msg.pk,
                },
                at=now,
            )
            _fan_out(msg, conv)
            if action == "handoff":
                _handoff_locked(conv, reason or "no_answer", now=now)
                _system(conv, "handoff", str(_("A person will take over this conversation.")))
                _conversation_changed(conv)
                status = handoff_status(conversation=conv)
                events.emit(
                    events.visitor_group(tenant_id, conv.contact_id),
                    {"type": "handoff", "conversation_id": conv.pk, "reason": conv.handoff_reason, **status},
                )
    except IntegrityError:
        return None  # a concurrent delivery of the same task posted it
    return msg


# --- agent presence (inbox sockets) ----------------------------------------------------


def agent_connected(*, actor: Membership, channel_name: str) -> None:
    AgentPresence.objects.update_or_create(
        tenant_id=actor.tenant_id,
        channel_name=channel_name[:200],
        defaults={"membership_id": actor.pk, "heartbeat_at": timezone.now()},
    )


def agent_heartbeat(*, actor: Membership, channel_name: str) -> None:
    AgentPresence.objects.for_tenant(actor.tenant_id).filter(channel_name=channel_name[:200]).update(
        heartbeat_at=timezone.now()
    )


def agent_disconnected(*, actor: Membership, channel_name: str) -> None:
    AgentPresence.objects.for_tenant(actor.tenant_id).filter(channel_name=channel_name[:200]).delete()
    # Forget rows of crashed servers as well.
    AgentPresence.objects.for_tenant(actor.tenant_id).filter(heartbeat_at__lt=timezone.now() - 10 * PRESENCE_TTL).delete()


def agent_typing(*, actor: Membership, conversation_id: int, on: bool) -> None:
    conv = _agent_conversation(actor, conversation_id)
    typing(tenant_id=actor.tenant_id, conversation=conv, side="agent", on=on)


def visitor_typing(*, contact: Contact, conversation_id: int, on: bool) -> None:
    conv = _contact_conversation(contact, int(conversation_id))
    typing(tenant_id=contact.tenant_id, conversation=conv, side="visitor", on=on)
