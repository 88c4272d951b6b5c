"""The bot side: persisting the result of chat.tasks.respond."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from chat import events
from chat.models import Conversation, ConversationStatus, EventKind, HandledBy, Message, Sender
from chat.services.common import _append, _conversation_changed, _fan_out, _report, _set_fields, _system
from chat.services.handoff import _handoff_locked, handoff_status
from ml.api import BotAction, BotResult, HandoffReason, check_bot_result


def _reply_text(result: BotResult) -> str:
    text = str(result.get("text") or "").strip()
    if result["action"] == BotAction.HANDOFF and not text:
        text = str(_("I'm handing you over to a person who can help."))
    return text[: max(settings.KEFU_MAX_MESSAGE_CHARS, 4000)] or str(_("Sorry, I have no answer to that."))


def _store_bot_message(*, conv: Conversation, inbound: Message, result: BotResult, now: datetime) -> Message:
    intent = result.get("intent") or {}
    sentiment = result.get("sentiment") or {}
    msg = _append(
        conversation=conv,
        sender=Sender.BOT,
        body=_reply_text(result),
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
        Message.objects.for_tenant(conv.tenant_id).filter(pk=inbound.pk).update(
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
            "action": str(result["action"]),
            "intent": intent.get("name"),
            # The visitor's sentiment (the inbound message's label, as stored above).
            "sentiment": sentiment.get("label") or None,
            "message_id": msg.pk,
        },
        at=now,
    )
    return msg


def _bot_handoff(*, conv: Conversation, reason: HandoffReason, now: datetime) -> None:
    _handoff_locked(conv, reason, now=now)
    _system(conv, "handoff", str(_("A person will take over this conversation.")))
    _conversation_changed(conv)
    status = handoff_status(conversation=conv)
    events.emit(
        events.visitor_group(conv.tenant_id, conv.contact_id),
        {"type": "handoff", "conversation_id": conv.pk, "reason": conv.handoff_reason, **status},
    )


def post_bot_result(*, tenant_id: int, inbound_id: int, result: BotResult) -> Message | None:
    """Persist the bot's answer to one inbound visitor message exactly once, or hand off.

    The handoff reason is stored as the analyzer gave it. A result with an unknown action
    or reason raises ValueError (ml.api.check_bot_result): that is a bug in the analyzer,
    and chat.tasks.respond checks the result before this and posts a model_error handoff
    instead, so the visitor still reaches a person and the log names the bad value.

    Returns None when nothing was posted: the reply exists already (redelivered task) or a
    human took the conversation over meanwhile.
    """
    result = check_bot_result(result)
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
            msg = _store_bot_message(conv=conv, inbound=inbound, result=result, now=now)
            _fan_out(msg, conv)
            if result["handoff_reason"] is not None:
                _bot_handoff(conv=conv, reason=result["handoff_reason"], now=now)
    except IntegrityError:
        return None  # a concurrent delivery of the same task posted it
    return msg
