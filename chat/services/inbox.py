"""Agent inbox actions on a conversation: assign, resolve (and the visitor's confirmation), reopen, snooze, pending."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from chat.models import (
    Contact,
    Conversation,
    ConversationStatus,
    CsatState,
    EventKind,
    HandledBy,
    Message,
    Sender,
)
from chat.services.common import _actor_id, _agent_conversation, _conversation_changed, _report, _set_fields, _system
from mail import notify as mail_notify
from tenants.errors import ErrorCode, ServiceError
from tenants.models import Membership


def assign(*, actor: Membership, conversation_id: int, membership_id: int | None) -> Conversation:
    with transaction.atomic():
        conv = _agent_conversation(actor, conversation_id, lock=True)
        if membership_id is not None:
            member = Membership.objects.for_tenant(actor.tenant_id).filter(pk=membership_id).first()
            if member is None:
                raise ServiceError(_("Member not found."), code=ErrorCode.INVALID)
        if conv.assignee_id == membership_id:
            return conv
        _set_fields(conv, assignee_id=membership_id)
        if membership_id is not None:
            _report(conv, EventKind.ASSIGNED, agent_id=membership_id, data={"by": _actor_id(actor)})
            mail_notify.assigned(conversation=conv, assignee_id=membership_id, by_id=_actor_id(actor))
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
            raise ServiceError(_("Message not found."), code=ErrorCode.NOT_FOUND)
        conv = Conversation.objects.for_tenant(contact.tenant_id).select_for_update().get(pk=msg.conversation_id)
        if conv.status == ConversationStatus.RESOLVED:
            return conv
        if conv.handled_by != HandledBy.BOT:
            raise ServiceError(_("A person is handling this conversation now."), code=ErrorCode.HANDLED_BY_HUMAN)
        _report(
            conv, EventKind.RESOLUTION_CONFIRMED, data={"message_id": msg.pk, "cycle": conv.cycle}, at=now
        )
        _resolve_locked(conv, agent_id=None, by="visitor", now=now)
    return conv


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
        raise ServiceError(_("Pick a time in the future."), code=ErrorCode.INVALID)
    return _set_waiting(actor, conversation_id, status=ConversationStatus.SNOOZED, until=until)


def set_status_pending(*, actor: Membership, conversation_id: int) -> Conversation:
    return _set_waiting(actor, conversation_id, status=ConversationStatus.PENDING, until=None)


def _set_waiting(actor: Membership, conversation_id: int, *, status: str, until: datetime | None) -> Conversation:
    """Snoozed (until a time) or pending (until the visitor writes); never a resolved one."""
    with transaction.atomic():
        conv = _agent_conversation(actor, conversation_id, lock=True)
        if conv.status == ConversationStatus.RESOLVED:
            raise ServiceError(_("Reopen the conversation first."), code=ErrorCode.RESOLVED)
        _set_fields(conv, status=status, snoozed_until=until)
        _conversation_changed(conv)
    return conv
