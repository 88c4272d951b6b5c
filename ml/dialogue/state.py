"""Conversation state as data.

Every bot turn stores a :class:`TurnState` (in the bot message's stored explanation, under
``state``); the next turn reads it from ``conversation["turns"][i]["state"]`` and never
parses the text of an earlier reply.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# What a bot turn did (``TurnState.kind``). The wire ``action`` chat sees stays
# answer / clarify / handoff; this is the finer kind the next turn needs.
ANSWER = "answer"
CLARIFY = "clarify"
ASK_SLOT = "ask_slot"
ACTION_RESULT = "action_result"
SMALL_TALK = "small_talk"
ACKNOWLEDGE = "acknowledge"  # an emotional complaint: acknowledged, a person offered
HANDOFF = "handoff"
KINDS = (ANSWER, CLARIFY, ASK_SLOT, ACTION_RESULT, SMALL_TALK, ACKNOWLEDGE, HANDOFF)

# The wire action chat stores for each kind.
WIRE_ACTION = {ANSWER: "answer", ACTION_RESULT: "answer", SMALL_TALK: "answer",
               CLARIFY: "clarify", ASK_SLOT: "clarify", ACKNOWLEDGE: "clarify", HANDOFF: "handoff"}


@dataclass
class TurnState:
    """What one bot turn did, for the next turn to read."""

    kind: str
    language: str = "en"
    intent: str | None = None
    article_ids: list[int] = field(default_factory=list)
    # The action this turn ran, or is collecting parameters for, and the values it has.
    action: str | None = None
    slots: dict[str, str] = field(default_factory=dict)
    awaiting: str | None = None  # the parameter this turn asked for (kind == ask_slot)
    asks: int = 0                # times in a row the bot asked for ``awaiting`` / clarified
    reason: str | None = None    # handoff / clarify / small-talk reason code
    topic: str = ""              # the retrieval query of this turn (what a follow-up refers to)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> TurnState | None:
        if not isinstance(data, dict) or data.get("kind") not in KINDS:
            return None
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        state = cls(**known)
        state.slots = {str(k): str(v) for k, v in (state.slots or {}).items()}
        state.article_ids = [int(a) for a in state.article_ids or [] if str(a).isdigit()]
        return state


def previous_state(history: list[dict[str, Any]]) -> TurnState | None:
    """The state of the bot turn just before the visitor's message; None when there is
    none or a person wrote after it (a human reply ends what the bot was doing)."""
    for turn in reversed(history):
        role = turn.get("role")
        if role == "visitor":
            continue
        if role == "bot":
            return TurnState.from_dict(turn.get("state"))
        return None
    return None


def conversation_language(history: list[dict[str, Any]]) -> str | None:
    """The language the last bot turn replied in, if any."""
    for turn in reversed(history):
        if turn.get("role") == "bot":
            state = TurnState.from_dict(turn.get("state"))
            if state is not None:
                return state.language
    return None
