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
    # While the bot waits for a slot value, a message switches topic only with an intent this sure.
    topic_switch_confidence: float = 0.6

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
    # Rewrite a short follow-up ("and to Canada?") with the previous turn's topic before
    # retrieval. Off by default: the dialogue bench compares both and rewriting did not help.
    rewrite_follow_ups: bool = False
    # A follow-up is at most this many words (longer messages stand on their own).
    follow_up_max_words: int = 5
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
