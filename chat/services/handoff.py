"""Handing a conversation from the bot to a person: visitor request, agent take-over."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from chat import learning
from chat.models import (
    Contact,
    Conversation,
    ConversationStatus,
    EventKind,
    HandledBy,
)
from chat.services.common import (
    _actor_id,
    _actor_name,
    _agent_conversation,
    _contact_conversation,
    _conversation_changed,
    _current_or_new_conversation,
    _report,
    _set_fields,
    _system,
)
from mail import notify as mail_notify
from ml.api import HandoffReason
from tenants import business_hours
from tenants.errors import ErrorCode, ServiceError
from tenants.models import Membership, Widget


def widget_availability(*, widget: Widget) -> dict[str, Any]:
    """Open now, next opening and away message of the widget's business hours."""
    return business_hours.availability(widget, timezone.now())


def handoff_status(*, conversation: Conversation) -> dict[str, Any]:
    """What the visitor is told after a handoff: the queue position while agents are
    online, else that we will reply by e-mail (the widget then asks for an address)."""
    from chat import selectors

    hours = widget_availability(widget=conversation.widget)
    # Outside business hours nobody answers live: the widget asks for the e-mail as when offline.
    online = hours["open"] and selectors.agents_online(tenant_id=conversation.tenant_id)
    data: dict[str, Any] = {"agents_online": online, "position": None, **hours}
    if online and conversation.assignee_id is None:
        data["position"] = selectors.queue_position(conversation=conversation)
    return data


def _handoff_locked(conv: Conversation, reason: HandoffReason, *, now: datetime | None = None) -> None:
    reason = HandoffReason(reason)  # ValueError for a reason that is not in the contract: a bug
    now = now or timezone.now()
    _set_fields(conv, handled_by=HandledBy.HUMAN, handoff_reason=reason, handed_off_at=now)
    if conv.status != ConversationStatus.OPEN:
        _set_fields(conv, status=ConversationStatus.OPEN, snoozed_until=None)
    _report(conv, EventKind.HANDOFF, reason=reason, at=now)
    mail_notify.handed_off(conversation=conv)  # e-mail alerts to members who keep them on


def request_human(*, contact: Contact, conversation_id: int | None = None) -> tuple[Conversation, dict[str, Any]]:
    """'Talk to a human': hand off with reason visitor_request (a new conversation if none)."""
    with transaction.atomic():
        conv = None
        if conversation_id:
            conv = _contact_conversation(contact, int(conversation_id))
            if conv.status == ConversationStatus.RESOLVED:
                conv = None
        if conv is None:
            conv = _current_or_new_conversation(contact)
        conv = Conversation.objects.for_tenant(contact.tenant_id).select_for_update().get(pk=conv.pk)
        if conv.handled_by == HandledBy.BOT:
            _handoff_locked(conv, HandoffReason.VISITOR_REQUEST)
            _system(conv, "handoff", str(_("You asked for a person. An agent will take over this conversation.")))
            _conversation_changed(conv)
    return conv, handoff_status(conversation=conv)


def _take_over_locked(actor: Membership, conv: Conversation) -> None:
    now = timezone.now()
    if conv.handled_by == HandledBy.BOT:
        learning.taken_over(conversation=conv)
        _handoff_locked(conv, HandoffReason.AGENT_TAKEOVER, now=now)
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
            raise ServiceError(_("Reopen the conversation first."), code=ErrorCode.RESOLVED)
        if conv.handled_by == HandledBy.HUMAN and conv.assignee_id == _actor_id(actor):
            return conv
        _take_over_locked(actor, conv)
    return conv
