"""What visitors and agents do, handed to ml as plain data for the learning loop
(DESIGN.md: feedback -> training data; issue 6). Called inside chat's transactions; the
hand-over runs after commit, and a failure there is logged, never fails the chat action."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.db import transaction

from chat.models import Conversation, Message, Sender

logger = logging.getLogger(__name__)


def _after_commit(fn: Callable[..., Any], **kwargs: Any) -> None:
    def run() -> None:
        try:
            fn(**kwargs)
        except Exception:  # noqa: BLE001 - learning data is best effort; the chat action stands
            logger.exception("learning hand-over %s failed", getattr(fn, "__name__", fn))

    transaction.on_commit(run)


def _last_visitor_message(conv: Conversation, before_seq: int) -> Message | None:
    return (
        Message.objects.for_tenant(conv.tenant_id)
        .filter(conversation_id=conv.pk, sender=Sender.VISITOR, seq__lt=before_seq)
        .order_by("-seq")
        .first()
    )


def visitor_thumbs(*, bot_message: Message, value: int) -> None:
    """Thumbs on a bot answer: about the visitor message it answered and its intent."""
    from ml import api as ml

    question = None
    if bot_message.reply_to_id:
        question = Message.objects.for_tenant(bot_message.tenant_id).filter(pk=bot_message.reply_to_id).first()
    _after_commit(
        ml.record_feedback,
        tenant_id=bot_message.tenant_id,
        kind="thumbs_up" if value > 0 else "thumbs_down",
        text=question.body if question else "",
        label=bot_message.intent or None,
        message_id=question.pk if question else None,
        conversation_id=bot_message.conversation_id,
        value=value,
    )


def csat_answered(*, conversation: Conversation, rating: int) -> None:
    from ml import api as ml

    _after_commit(ml.record_feedback, tenant_id=conversation.tenant_id, kind="csat", value=rating,
                  conversation_id=conversation.pk)


def human_answered(*, conversation: Conversation, answer: Message) -> None:
    """The first human reply after the bot handed off: a suggested article for admins."""
    from ml import api as ml

    question = _last_visitor_message(conversation, answer.seq)
    if question is None:
        return
    _after_commit(ml.record_human_answer, tenant_id=conversation.tenant_id, question=question.body,
                  answer=answer.body, conversation_id=conversation.pk, message_id=answer.pk)


def taken_over(*, conversation: Conversation) -> None:
    """An agent took a conversation from the bot without a handoff: the visitor's last
    question is a knowledge-gap candidate."""
    from ml import api as ml

    question = _last_visitor_message(conversation, conversation.last_seq + 1)
    if question is None:
        return
    _after_commit(ml.record_unanswered_question, tenant_id=conversation.tenant_id, text=question.body,
                  message_id=question.pk, conversation_id=conversation.pk, reason="takeover")
