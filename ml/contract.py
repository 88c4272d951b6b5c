"""The typed contract between chat and ml: handoff reasons, bot actions and turn kinds,
and the shapes of what chat sends (ConversationContext) and receives (BotResult).
Chat reaches these through ``ml.api``; ml modules import them from here."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, NotRequired, TypedDict, cast

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy


class HandoffReason(StrEnum):
    """Why a conversation went from the bot to a person (structured, never model text).

    Every value the agent emits plus the ones chat decides itself (visitor_request from the
    widget button, agent_takeover). Stored in Conversation.handoff_reason (a check
    constraint lists these values) and counted on the dashboard.
    """

    VISITOR_REQUEST = "visitor_request"
    MAX_BOT_TURNS = "max_bot_turns"
    NEGATIVE_SENTIMENT = "negative_sentiment"
    ESCALATING_INTENT = "escalating_intent"
    UNSUPPORTED_LANGUAGE = "unsupported_language"
    NEEDS_APPROVAL = "needs_approval"
    IDENTITY_REQUIRED = "identity_required"
    MISSING_PARAMETER = "missing_parameter"
    ACTION_FAILED = "action_failed"
    OUT_OF_SCOPE = "out_of_scope"
    LOW_CONFIDENCE = "low_confidence"
    NO_ANSWER = "no_answer"
    MODEL_ERROR = "model_error"
    AGENT_TAKEOVER = "agent_takeover"
    BOT_TIMEOUT = "bot_timeout"  # chat: no bot reply within KEFU_BOT_REPLY_DEADLINE_S (outbox sweep)


# Dashboard labels (and the drill-down title); tests check each has a zh-hans translation.
HANDOFF_REASON_LABELS: dict[str, Any] = {
    HandoffReason.VISITOR_REQUEST: gettext_lazy("Visitor asked for a person"),
    HandoffReason.MAX_BOT_TURNS: gettext_lazy("Bot turn limit"),
    HandoffReason.NEGATIVE_SENTIMENT: gettext_lazy("Negative sentiment"),
    HandoffReason.ESCALATING_INTENT: gettext_lazy("Escalating intent"),
    HandoffReason.UNSUPPORTED_LANGUAGE: gettext_lazy("Unsupported language"),
    HandoffReason.NEEDS_APPROVAL: gettext_lazy("Action needs approval"),
    HandoffReason.IDENTITY_REQUIRED: gettext_lazy("Identity verification required"),
    HandoffReason.MISSING_PARAMETER: gettext_lazy("Action details missing"),
    HandoffReason.ACTION_FAILED: gettext_lazy("Action failed"),
    HandoffReason.OUT_OF_SCOPE: gettext_lazy("Out of scope"),
    HandoffReason.LOW_CONFIDENCE: gettext_lazy("Low confidence"),
    HandoffReason.NO_ANSWER: gettext_lazy("No answer in knowledge"),
    HandoffReason.MODEL_ERROR: gettext_lazy("Model error"),
    HandoffReason.AGENT_TAKEOVER: gettext_lazy("Agent took over"),
    HandoffReason.BOT_TIMEOUT: gettext_lazy("Bot did not answer in time"),
}

# Handoffs whose question is knowledge-gap material (the bot had nothing to say).
GAP_REASONS = frozenset(
    {HandoffReason.OUT_OF_SCOPE, HandoffReason.LOW_CONFIDENCE, HandoffReason.NO_ANSWER, HandoffReason.UNSUPPORTED_LANGUAGE}
)


class BotAction(StrEnum):
    """What chat does with a bot result: post the text, or post it and hand off."""

    ANSWER = "answer"
    CLARIFY = "clarify"
    HANDOFF = "handoff"


class BotTurnKind(StrEnum):
    """What a bot turn did, finer than BotAction (the conversation state the agent keeps)."""

    ANSWER = "answer"
    CLARIFY = "clarify"
    ASK_SLOT = "ask_slot"
    ACTION_RESULT = "action_result"
    SMALL_TALK = "small_talk"
    ACKNOWLEDGE = "acknowledge"  # an emotional complaint acknowledged, a person offered
    HANDOFF = "handoff"


class IntentInfo(TypedDict):
    name: str | None
    confidence: float
    out_of_scope: bool


class SentimentInfo(TypedDict):
    label: str
    score: float


class BotResult(TypedDict):
    """What ``analyze_and_reply`` returns and ``chat.services.post_bot_result`` stores."""

    action: BotAction
    text: str
    handoff_reason: HandoffReason | None  # set exactly when action is handoff
    intent: IntentInfo
    sentiment: SentimentInfo
    language: str
    citations: list[dict[str, Any]]
    explanation: dict[str, Any]
    kind: NotRequired[BotTurnKind]


class ContactInfo(TypedDict):
    verified: bool
    user_id: str | None
    email: str  # the label the visitor typed: never identity, never sent to an action
    attributes: dict[str, Any]
    # An e-mail that is part of the verified identity (vouched for with the user id);
    # the only e-mail ml.actions sends (X-Kefu-User-Email).
    verified_email: NotRequired[str]


class TurnInfo(TypedDict):
    role: str  # visitor | bot | agent
    text: str
    sentiment: str | None
    # Bot turns: the state the agent stored with that reply (explanation["state"], see
    # ml.dialogue.state.TurnState); the next turn reads this, never the reply text.
    state: NotRequired[dict[str, Any] | None]


class InboundMessage(TypedDict):
    id: int
    text: str


class ConversationContext(TypedDict):
    """What chat hands the analyzer for one inbound visitor message."""

    id: int
    widget_id: int
    visitor: ContactInfo
    turns: list[TurnInfo]
    bot_turns: int
    message: InboundMessage


def check_bot_result(result: Any) -> BotResult:
    """The result with its action and handoff reason as enums; ValueError when it is not a
    result chat can store (an unknown action or reason is a bug in the analyzer)."""
    if not isinstance(result, dict):
        raise ValueError(f"analyzer returned {result!r:.200}")
    action = BotAction(str(result.get("action")))
    reason = result.get("handoff_reason")
    if action == BotAction.HANDOFF:
        reason = HandoffReason(reason or HandoffReason.NO_ANSWER)
    elif reason is not None:
        raise ValueError(f"handoff_reason {reason!r} on a {action} result")
    kind = result.get("kind")
    checked = {**result, "action": action, "handoff_reason": reason}
    if kind is not None:
        checked["kind"] = BotTurnKind(kind)
    return cast(BotResult, checked)


def model_error_result(*, why: str = "model_error") -> BotResult:
    """The handoff chat posts when the analyzer failed, timed out or returned garbage."""
    return {
        "action": BotAction.HANDOFF,
        "text": str(_("Sorry, I can't answer right now. I'm passing your conversation to a person.")),
        "handoff_reason": HandoffReason.MODEL_ERROR,
        "intent": {"name": None, "confidence": 0.0, "out_of_scope": False},
        "sentiment": {"label": "", "score": 0.0},
        "language": "",
        "citations": [],
        "explanation": {"decision": {"action": "handoff", "reason": "model_error", "why": why[:300]}},
    }
