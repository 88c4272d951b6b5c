"""The one ml module chat imports: the typed contract between the two apps and the calls
chat makes (import-linter enforces it, see pyproject.toml).

- ``analyze_and_reply``: the bot's turn for one visitor message (chat.tasks.respond).
- ``check_bot_result``: what chat accepts from any analyzer (unknown actions or handoff
  reasons are programming errors and raise; the caller turns that into a model_error handoff).
- ``warm_up`` (process start) and ``analyze_message`` (NLU of one message, no reply).
- learning hand-over (plain data, redacted by ml before it is stored):
  ``record_feedback``, ``record_human_answer``, ``record_unanswered_question``,
  ``forget_conversations``; retention: ``forget_learning_before``.

Importing this module never imports torch: models load lazily in the inference process.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ml.contract import (
    GAP_REASONS,
    HANDOFF_REASON_LABELS,
    BotAction,
    BotResult,
    BotTurnKind,
    ContactInfo,
    ConversationContext,
    HandoffReason,
    InboundMessage,
    IntentInfo,
    SentimentInfo,
    TurnInfo,
    check_bot_result,
    model_error_result,
)
from ml.feedback import forget_conversations, record_feedback, record_human_answer, record_unanswered_question
from ml.privacy import forget_learning_before

__all__ = [
    "GAP_REASONS",
    "HANDOFF_REASON_LABELS",
    "BotAction",
    "BotResult",
    "BotTurnKind",
    "ContactInfo",
    "ConversationContext",
    "InboundMessage",
    "TurnInfo",
    "HandoffReason",
    "IntentInfo",
    "SentimentInfo",
    "analyze_and_reply",
    "analyze_message",
    "check_bot_result",
    "forget_conversations",
    "forget_learning_before",
    "model_error_result",
    "record_feedback",
    "record_human_answer",
    "record_unanswered_question",
    "warm_up",
]

logger = logging.getLogger(__name__)


def analyze_and_reply(
    *, tenant_id: int, conversation: ConversationContext, on_token: Callable[[str], None] | None = None
) -> BotResult:
    """Decide the bot's reply to ``conversation["message"]`` and record the analysis for
    the learning loop. Never raises for model failures (or a result that fails
    ``check_bot_result``): those become a handoff with reason ``model_error``.
    """
    from ml import agent  # lazy: torch is only imported by inference processes
    from ml.feedback import record_analysis

    try:
        result = check_bot_result(agent.analyze(tenant_id=tenant_id, conversation=dict(conversation), on_token=on_token))
    except Exception as exc:  # noqa: BLE001 - the visitor is told and a human takes over
        logger.exception("analyze_and_reply failed for tenant %s", tenant_id)
        result = model_error_result(why=repr(exc))
        if on_token:
            on_token(result["text"])
        return result
    record_analysis(tenant_id=tenant_id, conversation=dict(conversation), result=dict(result))
    return result


def warm_up(*, generator: bool = True) -> dict[str, float]:
    """Load the encoder (and the generator) now; call once when an inference worker
    process starts (e.g. Celery's worker_process_init) so the first visitor does not wait."""
    import time

    from django.conf import settings

    from ml.serving import encode

    timings: dict[str, float] = {}
    t = time.perf_counter()
    encode(["warm up"])
    timings["encoder_s"] = round(time.perf_counter() - t, 2)
    from ml.nlu.language import warm_up as warm_up_language

    t = time.perf_counter()
    warm_up_language()  # lingua loads each language model on first use
    timings["language_s"] = round(time.perf_counter() - t, 2)
    if generator and settings.KEFU_GENERATOR == "local":
        from ml.backends.generation import get_generator

        t = time.perf_counter()
        get_generator("local")
        timings["generator_s"] = round(time.perf_counter() - t, 2)
    return timings


def analyze_message(*, tenant_id: int, text: str) -> dict[str, Any]:
    """Intent, sentiment and language of one visitor message (no reply)."""
    from ml import agent
    from ml.serving import encode, get_state

    state = get_state(tenant_id)
    prediction = state.intent_model.predict(text, encode([text])[0])
    return {
        "intent": {"name": prediction.name, "confidence": prediction.confidence, "out_of_scope": prediction.out_of_scope},
        "sentiment": agent.sentiment_of(text),
        "language": agent.detect_language(text),
    }


def has_published_article(*, tenant_id: int) -> bool:
    """Whether the tenant has at least one published knowledge article (onboarding checklist)."""
    from ml.models import ArticleStatus, KnowledgeArticle

    return KnowledgeArticle.objects.for_tenant(tenant_id).filter(status=ArticleStatus.PUBLISHED).exists()
