"""Visitor and agent messages, including the visitor hot path (one statement on PostgreSQL)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from chat import events, learning, ratelimit
from chat.models import (
    ATTACHMENT_BODY_PREFIX,
    Contact,
    Conversation,
    ConversationStatus,
    EventKind,
    HandledBy,
    Message,
    ReportingEvent,
    Sender,
)
from chat.services import outbox
from chat.services.common import (
    Posted,
    _actor_id,
    _actor_name,
    _agent_conversation,
    _append,
    _clean_body,
    _clean_client_msg_id,
    _contact_conversation,
    _current_or_new_conversation,
    _fan_out,
    _report,
    _wake,
)
from chat.services.handoff import _take_over_locked
from mail import notify as mail_notify
from ml.api import HandoffReason
from tenants.errors import ErrorCode, ServiceError
from tenants.models import Membership


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
    fixed_msg = {"tenant_id": "c.tenant_id", "conversation_id": "c.id", "seq": "c.last_seq", "contact_id": "c.contact_id"}
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
        f"SELECT {', '.join(ev_vals)} FROM c, m), "
        # The respond outbox row commits with the message (bot-handled conversations only).
        f"j AS ({outbox.respond_job_cte(conversation='c', message='m')[0]}) "
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
    Raises IntegrityError when client_msg_id was stored for this visitor already (a resend).
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
            _wake(conv)
            ReportingEvent.objects.create(
                tenant_id=conv.tenant_id, conversation_id=conv.pk, kind=EventKind.VISITOR_MESSAGE, at=now,
                widget_id=conv.widget_id, data={"message_id": msg.pk, "seq": msg.seq},
            )
            outbox.add_respond_job(conversation=conv, message=msg)
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
        sender=Sender.VISITOR, body=text, created_at=now, contact_id=conv.contact_id,
    )
    msg.pk = row[0]
    msg._state.adding = False
    return msg, conv


def _existing_visitor_message(contact: Contact, cmid: str) -> Message | None:
    # The unique (tenant, contact, client_msg_id) index answers this.
    return (
        Message.objects.for_tenant(contact.tenant_id)
        .filter(contact_id=contact.pk, client_msg_id=cmid, sender=Sender.VISITOR)
        .select_related("conversation")
        .first()
    )


def _check_visitor_rate(contact: Contact, client_ip: str) -> None:
    """Per visitor, per address and per widget, shared by every server process."""
    full = ratelimit.allow(
        [
            ratelimit.Limit(f"v:{contact.pk}", settings.KEFU_VISITOR_MESSAGES_PER_MINUTE),
            ratelimit.Limit(f"ip:{client_ip}", settings.KEFU_IP_MESSAGES_PER_MINUTE if client_ip else 0),
            ratelimit.Limit(f"w:{contact.widget_id}", settings.KEFU_WIDGET_MESSAGES_PER_MINUTE),
        ]
    )
    if full is None:
        return
    if full.key.startswith("w:"):
        raise ServiceError(_("This chat is very busy right now. Please try again shortly."), code=ErrorCode.RATE_LIMITED)
    raise ServiceError(_("You are sending messages too fast. Please wait a moment."), code=ErrorCode.RATE_LIMITED)


def _lock_visitor(contact: Contact) -> None:
    """Serialise one visitor's open-or-create (20 tabs sending a first message at once get
    one conversation). FOR NO KEY UPDATE: it does not block the foreign-key checks of
    inserts that reference the contact."""
    Contact.objects.for_tenant(contact.tenant_id).select_for_update(no_key=True).filter(pk=contact.pk).exists()


def _after_visitor_message(msg: Message, conv: Conversation, origin: str) -> None:
    _fan_out(msg, conv, origin=origin)
    if conv.handled_by == HandledBy.BOT and not msg.body.startswith(ATTACHMENT_BODY_PREFIX):  # a file: no bot turn
        from chat.tasks import enqueue_respond

        # The visitor sees the bot typing at once (not when a worker picks the job up);
        # the streamed reply or the final message replaces the indicator.
        events.emit(events.visitor_group(conv.tenant_id, conv.contact_id),
                    {"type": "typing", "conversation_id": conv.pk, "side": "bot", "on": True})
        enqueue_respond(conv.tenant_id, msg.pk)


def send_visitor_message(
    *,
    contact: Contact,
    body: Any,
    client_msg_id: Any,
    conversation_id: int | None = None,
    origin: str = "",
    client_ip: str = "",
) -> Posted:
    """Persist a visitor message exactly once per client_msg_id; the caller acks after return.

    Goes to `conversation_id` if it is this contact's and not resolved; otherwise to the
    contact's open conversation, or a new one (a resolved conversation stays closed).

    Hot path (a conversation_id the widget got with its last ack): one statement; a resend
    hits the unique (tenant, contact, client_msg_id) constraint and returns the stored
    message. Other cases look the client_msg_id up across the contact's conversations first,
    then pick the open conversation or create one under a lock on the contact, so that
    concurrent first messages of one visitor share one conversation; the unique
    (tenant, contact, client_msg_id) index stores a client_msg_id once per visitor.
    """
    cmid = _clean_client_msg_id(client_msg_id)
    text = _clean_body(body)
    _check_visitor_rate(contact, client_ip)
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
            _lock_visitor(contact)
            conv = _current_or_new_conversation(contact)
            msg = _append(conversation=conv, sender=Sender.VISITOR, body=text, client_msg_id=cmid)
            _wake(conv)
            _report(conv, EventKind.VISITOR_MESSAGE, data={"message_id": msg.pk, "seq": msg.seq}, at=msg.created_at)
            outbox.add_respond_job(conversation=conv, message=msg)
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
                    raise ServiceError(_("Reopen the conversation before replying."), code=ErrorCode.RESOLVED)
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
                if first_reply and conv.handoff_reason and conv.handoff_reason != HandoffReason.AGENT_TAKEOVER:
                    learning.human_answered(conversation=conv, answer=msg)
                _wake(conv)
                # Mailed if the visitor left an address and does not read it in the widget.
                mail_notify.agent_replied(conversation=conv, message=msg, author_name=_actor_name(actor))
            _fan_out(msg, conv, author_name=_actor_name(actor))
    except IntegrityError:
        dup = Message.objects.for_tenant(actor.tenant_id).filter(conversation_id=conversation_id, client_msg_id=cmid).first()
        if dup is None:
            raise
        return Posted(dup, _agent_conversation(actor, conversation_id), duplicate=True)
    return Posted(msg, conv)
