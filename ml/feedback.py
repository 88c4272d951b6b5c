"""Learning-loop intake: what chat reports (analysed messages, unanswered questions,
feedback, human answers) stored as ml's training data. Plain data in; every text is
redacted before it is stored; ids are chat's integer ids (ml never imports chat)."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from ml.contract import GAP_REASONS
from ml.models import Intent
from tenants.errors import ServiceError

logger = logging.getLogger(__name__)


def _redact(text: str, limit: int = 1000) -> str:
    from ml.learning.redact import redact

    return " ".join(redact(str(text or "")).split())[:limit]


def record_analysis(*, tenant_id: int, conversation: dict[str, Any], result: dict[str, Any]) -> None:
    """Keep what replay and gap mining need (never fails the reply)."""
    try:
        message = conversation.get("message") or {}
        intent = result.get("intent") or {}
        record_analyzed_message(
            tenant_id=tenant_id, message_id=int(message["id"]), conversation_id=int(conversation["id"]),
            text=str(message.get("text") or ""), intent=intent.get("name"),
            confidence=float(intent.get("confidence") or 0.0), action=str(result.get("action") or "answer"),
            handoff_reason=result.get("handoff_reason"))
    except Exception:  # noqa: BLE001 - learning data is best effort; the visitor's answer is not
        logger.exception("could not record the analysis of a message of tenant %s", tenant_id)


def record_analyzed_message(
    *, tenant_id: int, message_id: int, conversation_id: int, text: str, intent: str | None, confidence: float,
    action: str, handoff_reason: str | None = None, embedding: Any = None,
) -> None:
    """What the serving model decided for one visitor message (idempotent on message_id).
    Called by ``analyze_and_reply`` itself; handed-off questions also become gap input."""
    from ml.models import AnalyzedMessage, ModelStatus, ModelVersion

    red = _redact(text)
    if not red:
        return
    serving = (ModelVersion.objects.for_tenant(tenant_id).filter(kind="intent", status=ModelStatus.SERVING)
               .values_list("version", flat=True).first())
    AnalyzedMessage.objects.update_or_create(
        tenant_id=tenant_id, message_id=message_id,
        defaults={"conversation_id": conversation_id, "text": red, "intent": intent or "",
                  "confidence": round(float(confidence), 4), "action": action[:10],
                  "handoff_reason": (handoff_reason or "")[:40], "model_version": serving})
    if action == "handoff" and (handoff_reason or "no_answer") in GAP_REASONS:
        record_unanswered_question(tenant_id=tenant_id, text=text, message_id=message_id,
                                   conversation_id=conversation_id, reason=handoff_reason or "no_answer")


def record_unanswered_question(
    *, tenant_id: int, text: str, message_id: int | None = None, conversation_id: int | None = None,
    reason: str = "handoff",
) -> None:
    """A visitor question the bot could not answer (knowledge-gap mining input).
    Chat: a conversation handed off for a reason ml did not decide (e.g. no agent reply
    found / the visitor's question before a manual takeover)."""
    from ml.models import UnansweredQuestion

    red = _redact(text)
    if not red:
        return
    if message_id is None:
        UnansweredQuestion.objects.create(tenant_id=tenant_id, text=red, conversation_id=conversation_id,
                                          reason=reason[:40])
        return
    UnansweredQuestion.objects.update_or_create(
        tenant_id=tenant_id, message_id=message_id,
        defaults={"text": red, "conversation_id": conversation_id, "reason": reason[:40]})


def record_feedback(
    *, tenant_id: int, kind: str, text: str = "", label: str | None = None, message_id: int | None = None,
    conversation_id: int | None = None, value: int | None = None, correction: str = "",
    article_id: int | None = None,
) -> None:
    """Feedback from chat (visitor thumbs, CSAT) or agents (relabel, wrong, corrected).

    ``text`` is the *visitor* message the feedback is about; ``label`` its intent:
    - thumbs_up with a label: the bot's intent was right -> a confirmed training example;
    - relabel: an agent's label (an intent name, or "out_of_scope") -> a training example
      that beats any other source;
    - thumbs_down / wrong / corrected / csat: stored as feedback (quality signal, not a label);
    - thumbs_up or relabel with ``article_id`` (the cited article that answered it): also a
      question -> article pair for the tenant's retrieval model (ml.retrieval_training).
    """
    from ml.learning.dataset import canonical_label
    from ml.models import ExampleSource, Feedback, FeedbackKind, TrainingExample

    if kind not in FeedbackKind.values:
        raise ServiceError(_("Unknown feedback kind."), code="invalid")
    red = _redact(text)
    with transaction.atomic():
        Feedback.objects.create(tenant_id=tenant_id, kind=kind, message_id=message_id,
                                conversation_id=conversation_id, text=red, label=(label or "")[:80],
                                correction=_redact(correction, 5000), value=value)
        if kind in (FeedbackKind.THUMBS_DOWN, FeedbackKind.WRONG) and message_id is not None:
            TrainingExample.objects.for_tenant(tenant_id).filter(
                message_id=message_id, source=ExampleSource.CONFIRMED).delete()
        if article_id is not None and kind in (FeedbackKind.THUMBS_UP, FeedbackKind.RELABEL):
            from ml.retrieval_training import record_retrieval_pair

            record_retrieval_pair(tenant_id=tenant_id, question=text, article_id=article_id, source=kind,
                                  message_id=message_id, conversation_id=conversation_id)
        source = {FeedbackKind.RELABEL: ExampleSource.RELABEL, FeedbackKind.THUMBS_UP: ExampleSource.CONFIRMED}.get(
            FeedbackKind(kind))
        if source is None or not red or (source == ExampleSource.CONFIRMED and not label):
            return
        clean = canonical_label(label)
        if clean != "out_of_scope" and not Intent.objects.for_tenant(tenant_id).filter(name=clean).exists():
            raise ServiceError(_("Unknown intent."), code="invalid")
        if message_id is None:
            TrainingExample.objects.create(tenant_id=tenant_id, text=red, label=clean, source=source,
                                           conversation_id=conversation_id)
        else:
            TrainingExample.objects.update_or_create(
                tenant_id=tenant_id, source=source, message_id=message_id,
                defaults={"text": red, "label": clean, "conversation_id": conversation_id})


def record_human_answer(
    *, tenant_id: int, question: str, answer: str, conversation_id: int | None = None,
    message_id: int | None = None,
) -> None:
    """A human agent answered a handed-off question: offer it as a suggested article
    (an admin accepts, edits or rejects it) and keep it as drafting material for gaps."""
    from ml.models import SuggestedArticle

    q, a = _redact(question), _redact(answer, 5000)
    if not q or not a:
        return
    if message_id is None:
        SuggestedArticle.objects.create(tenant_id=tenant_id, question=q, answer=a, conversation_id=conversation_id)
    else:
        SuggestedArticle.objects.get_or_create(
            tenant_id=tenant_id, message_id=message_id,
            defaults={"question": q, "answer": a, "conversation_id": conversation_id})


def forget_conversations(*, tenant_id: int, conversation_ids: list[int]) -> int:
    """A visitor was deleted: drop every learning row of their conversations."""
    from ml.privacy import visitor_data_models

    ids = [int(i) for i in conversation_ids]
    n = 0
    for model in visitor_data_models():
        n += model.objects.for_tenant(tenant_id).filter(conversation_id__in=ids).delete()[0]
    return n
