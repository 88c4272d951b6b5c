"""Every threshold the agent uses, in one documented object.

Defaults are the values the dialogue bench (``make bench-dialogue``) was run with; a
tenant's AI policy overrides any field of the same name (``AgentSettings.from_policy``),
so "how sure must the bot be" is a per-tenant decision, never a number in the code.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# AI policy keys that predate this object, mapped to its fields.
POLICY_ALIASES = {"confidence_threshold": "intent_confidence"}


@dataclass(frozen=True)
class AgentSettings:
    # --- intent ------------------------------------------------------------------------------
    # Intent confidence needed to act on an intent (trigger an action, escalate, switch topic).
    intent_confidence: float = 0.35
    # Acting on an intent (calling an action or asking for its parameter, escalating to a
    # person, leaving a pending action for another intent) needs this much; answering from
    # the knowledge base needs only ``intent_confidence``.
    action_intent_confidence: float = 0.6
    # When an action would have to ask for a missing parameter and the message is this far
    # (cosine) from every example of the intent, the knowledge base gets the first try.
    ask_slot_min_similarity: float = 0.7
    # A message whose letters are at least this share CJK gets its intent from character
    # bigrams (ml.dialogue.intents), needing this share of its bigrams in one example.
    cjk_script_share: float = 0.5
    cjk_intent_min_overlap: float = 0.5

    # --- handoff rules -----------------------------------------------------------------------
    # Consecutive negative visitor messages that hand the conversation to a person.
    negative_streak: int = 2
    # Bot replies in a conversation before a person takes over.
    max_bot_turns: int = 8
    # Negative probability from which a message counts as an emotional complaint (acknowledged,
    # never answered with an earlier action's result).
    complaint_negative_probability: float = 0.85
    # What an emotional complaint gets before the streak limit: "offer" (acknowledge and offer a
    # person) or "handoff" (hand off at once).
    complaint_action: str = "offer"
    # Times the bot asks for the same missing action parameter before handing off.
    slot_asks: int = 2
    # Clarifying questions in a row before "I could not answer" becomes a handoff.
    clarify_limit: int = 1

    # --- language ----------------------------------------------------------------------------
    # Detector confidence needed to switch the conversation to another language; below it
    # (short text such as "ok", "1002", "Hello") the conversation keeps its language.
    language_switch_confidence: float = 0.6

    # --- follow-ups and small talk -----------------------------------------------------------
    # Rewrite a short follow-up ("and express?") with the previous answer's topic before
    # retrieval. On: the dialogue bench runs its follow-up conversations both ways and
    # rewriting answered more of them (see bench-results/dialogue.json, follow_up_rewrite).
    rewrite_follow_ups: bool = True
    # A follow-up is at most this many words (longer messages stand on their own).
    follow_up_max_words: int = 5
    # While the bot waits for a parameter, a question of at least this many words (or
    # twice as many CJK characters) without the value starts a new topic.
    standalone_min_words: int = 3
    # A message is pure small talk only up to this many words ("hi there, thanks so much!").
    small_talk_max_words: int = 8

    @classmethod
    def from_policy(cls, policy: Mapping[str, Any] | None) -> AgentSettings:
        """Defaults overridden by the tenant's AI policy (fields of the same name, or aliases)."""
        names = {f.name: f.type for f in dataclasses.fields(cls)}
        changes: dict[str, Any] = {}
        for key, value in (policy or {}).items():
            name = POLICY_ALIASES.get(key, key)
            if name not in names or value is None:
                continue
            default = getattr(cls, name)
            changes[name] = type(default)(value)
        return dataclasses.replace(cls(), **changes)


def _known_fields() -> dict[str, Any]:
    """Field name -> default, for AgentSettings and the answer step's settings."""
    known = {f.name: getattr(AgentSettings, f.name) for f in dataclasses.fields(AgentSettings)}
    from ml.answering.answer import AnswerSettings

    known.update({f.name: f.default for f in dataclasses.fields(AnswerSettings)})
    return known


def validated_overrides(value: Any) -> dict[str, Any]:
    """A tenant's threshold overrides, each converted to its field's type; ValueError names
    the first unknown field or bad value."""
    if not isinstance(value, Mapping):
        raise ValueError("Agent settings must be an object of field names and values.")
    known = _known_fields()
    out: dict[str, Any] = {}
    for key, raw in value.items():
        if key not in known:
            raise ValueError(f"Unknown agent setting: {key}")
        default = known[key]
        try:
            if isinstance(default, bool):
                if not isinstance(raw, bool):
                    raise TypeError
                out[key] = raw
            elif default is None:
                out[key] = None if raw is None else float(raw)
            else:
                out[key] = type(default)(raw)
        except (TypeError, ValueError):
            raise ValueError(f"Bad value for agent setting {key}: {raw!r}") from None
    return out
