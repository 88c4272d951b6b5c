"""Plumbing shared by the chat services: message insert with the next seq, fan-out,
reporting events, lookups scoped to the actor, input cleaning."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from chat import events
from chat.models import (
    Contact,
    Conversation,
    ConversationStatus,
    EventKind,
    Message,
    ReportingEvent,
    Sender,
)
from chat.presenters import conversation_payload, message_payload
from tenants.errors import ErrorCode, ServiceError
from tenants.models import Membership

CLIENT_MSG_ID_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


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
        raise ServiceError(_("Conversation not found."), code=ErrorCode.NOT_FOUND)
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
    if sender == Sender.VISITOR:
        fields.setdefault("contact_id", conversation.contact_id)  # client_msg_id is unique per visitor
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
        raise ServiceError(_("A message must be text."), code=ErrorCode.INVALID)
    body = body.strip()
    if not body:
        raise ServiceError(_("The message is empty."), code=ErrorCode.EMPTY)
    if len(body) > settings.KEFU_MAX_MESSAGE_CHARS:
        raise ServiceError(
            _("The message is too long (at most %(n)d characters).") % {"n": settings.KEFU_MAX_MESSAGE_CHARS},
            code=ErrorCode.TOO_LONG,
        )
    return body


def _clean_client_msg_id(client_msg_id: Any) -> str:
    if not isinstance(client_msg_id, str) or not CLIENT_MSG_ID_RE.match(client_msg_id):
        raise ServiceError(_("client_msg_id must be 1-64 letters, digits, _ . : or -."), code=ErrorCode.BAD_CLIENT_MSG_ID)
    return client_msg_id


def _contact_conversation(contact: Contact, conversation_id: int) -> Conversation:
    conv = (
        Conversation.objects.for_tenant(contact.tenant_id)
        .filter(pk=conversation_id, contact_id=contact.pk, widget_id=contact.widget_id)
        .first()
    )
    if conv is None:
        raise ServiceError(_("Conversation not found."), code=ErrorCode.NOT_FOUND)
    return conv


def _new_conversation(contact: Contact) -> Conversation:
    conv = Conversation.objects.create(tenant_id=contact.tenant_id, widget_id=contact.widget_id, contact=contact)
    _report(conv, EventKind.CONVERSATION_CREATED, data={"contact_id": contact.pk}, at=conv.created_at)
    return conv


def _current_or_new_conversation(contact: Contact) -> Conversation:
    """The contact's newest conversation that is not resolved, else a new one (a resolved
    conversation stays closed)."""
    return (
        Conversation.objects.for_tenant(contact.tenant_id)
        .filter(contact_id=contact.pk)
        .exclude(status=ConversationStatus.RESOLVED)
        .order_by("-created_at")
        .first()
    ) or _new_conversation(contact)


def _wake(conv: Conversation) -> None:
    """A snoozed or pending conversation goes back to open: someone wrote in it."""
    if conv.status in (ConversationStatus.SNOOZED, ConversationStatus.PENDING):
        _set_fields(conv, status=ConversationStatus.OPEN, snoozed_until=None)


def _agent_conversation(actor: Membership, conversation_id: int, *, lock: bool = False) -> Conversation:
    qs = Conversation.objects.for_tenant(actor.tenant_id).filter(pk=conversation_id)
    if lock:
        qs = qs.select_for_update()
    conv = qs.first()
    if conv is None:
        raise ServiceError(_("Conversation not found."), code=ErrorCode.NOT_FOUND)
    return conv


def _actor_id(actor: Membership) -> int | None:
    return actor.pk if actor.pk else None


def _actor_name(actor: Membership) -> str:
    if actor.pk is None or actor.user_id is None:
        return str(_("Support"))
    return actor.name


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
