"""What the visitor tells us about the service: the CSAT rating and thumbs on bot messages."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from chat import events, learning
from chat.models import (
    Contact,
    Conversation,
    CsatResponse,
    CsatState,
    EventKind,
    Message,
    Sender,
)
from chat.services.common import _contact_conversation, _conversation_changed, _report, _set_fields
from tenants.errors import ErrorCode, ServiceError


def submit_csat(*, contact: Contact, conversation_id: int, rating: Any, comment: str = "") -> CsatResponse:
    try:
        rating = int(rating)
    except (TypeError, ValueError):
        rating = 0
    if not 1 <= rating <= 5:
        raise ServiceError(_("Rate from 1 to 5."), code=ErrorCode.INVALID)
    with transaction.atomic():
        conv = _contact_conversation(contact, conversation_id)
        conv = Conversation.objects.for_tenant(contact.tenant_id).select_for_update().get(pk=conv.pk)
        if conv.csat_state != CsatState.REQUESTED:
            raise ServiceError(_("This conversation has no open survey."), code=ErrorCode.NO_SURVEY)
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
            raise ServiceError(_("You already rated this conversation."), code=ErrorCode.DUPLICATE)
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


def message_feedback(*, contact: Contact, message_id: int, value: Any) -> None:
    """Thumbs up/down on a bot message (training data and a reporting event)."""
    if value not in (1, -1):
        raise ServiceError(_("Feedback is +1 or -1."), code=ErrorCode.INVALID)
    msg = (
        Message.objects.for_tenant(contact.tenant_id)
        .filter(pk=message_id, sender=Sender.BOT, conversation__contact_id=contact.pk)
        .select_related("conversation")
        .first()
    )
    if msg is None:
        raise ServiceError(_("Message not found."), code=ErrorCode.NOT_FOUND)
    with transaction.atomic():
        Message.objects.for_tenant(contact.tenant_id).filter(pk=msg.pk).update(feedback=value)
        _report(msg.conversation, EventKind.FEEDBACK, value=float(value), data={"message_id": msg.pk})
        learning.visitor_thumbs(bot_message=msg, value=value)
