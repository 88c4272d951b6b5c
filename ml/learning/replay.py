"""Replay a candidate over recent conversations: what would change if it were promoted.

Only the intent layer is replayed (the candidate's intent and confidence against what
the serving model decided and stored); retrieval and generation are not re-run, so a
"handoff added" for low confidence is an upper bound (the live agent may still find a
grounded answer). Handoffs whose reason is not about the intent (the visitor asked for a
human, negative sentiment, turn limit, failed actions...) cannot change and are counted
as unchanged. Texts in the diff are redacted because the diff is stored with the model
version and would outlive a visitor's deletion.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ml.learning.dataset import OUT_OF_SCOPE, canonical_label
from ml.learning.metrics import Prediction, as_predict_fn
from ml.learning.redact import redact

INTENT_REASONS = frozenset({"low_confidence", "out_of_scope", "escalating_intent"})


@dataclass(frozen=True)
class ReplayPolicy:
    confidence_threshold: float = 0.35
    handoff_on_out_of_scope: bool = True
    escalating_intents: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> ReplayPolicy:
        d = d or {}
        return cls(confidence_threshold=float(d.get("confidence_threshold", 0.35)),
                   handoff_on_out_of_scope=bool(d.get("handoff_on_out_of_scope", True)),
                   escalating_intents=frozenset(d.get("escalating_intents", ())))


@dataclass(frozen=True)
class ReplayMessage:
    """A visitor message with what the serving model stored at the time."""

    text: str
    serving_intent: str | None = None
    serving_confidence: float = 0.0
    action: str = "answer"               # answer | clarify | handoff
    handoff_reason: str | None = None
    message_id: Any = None
    conversation_id: Any = None

    @classmethod
    def from_mapping(cls, m: Mapping[str, Any]) -> ReplayMessage:
        return cls(text=str(m.get("text") or ""), serving_intent=m.get("serving_intent", m.get("intent")),
                   serving_confidence=float(m.get("serving_confidence", m.get("confidence", 0.0)) or 0.0),
                   action=str(m.get("action") or "answer"), handoff_reason=m.get("handoff_reason"),
                   message_id=m.get("message_id"), conversation_id=m.get("conversation_id"))


def intent_decision(p: Prediction, policy: ReplayPolicy) -> tuple[str, str | None]:
    """The intent part of the agent's policy: ("handoff", reason) or ("answer", None)."""
    if p.label in policy.escalating_intents:
        return "handoff", "escalating_intent"
    if p.label == OUT_OF_SCOPE and policy.handoff_on_out_of_scope:
        return "handoff", "out_of_scope"
    if p.confidence < policy.confidence_threshold:
        return "handoff", "low_confidence"
    return "answer", None


def replay(messages: Iterable[ReplayMessage | Mapping[str, Any]], candidate: Any, *,
           policy: ReplayPolicy | Mapping[str, Any] | None = None, serving: Any | None = None,
           max_examples: int = 20) -> dict[str, Any]:
    """Diff of intents and handoffs between the stored serving outcome and ``candidate``.

    ``candidate``/``serving``: anything with ``predict(list[str])`` or a callable. When
    ``serving`` is given it re-predicts the serving side too (for messages stored before
    intents were recorded); otherwise the stored intent and decision are used.
    """
    pol = policy if isinstance(policy, ReplayPolicy) else ReplayPolicy.from_dict(policy)
    msgs = [m if isinstance(m, ReplayMessage) else ReplayMessage.from_mapping(m) for m in messages]
    msgs = [m for m in msgs if m.text.strip()]
    texts = [m.text for m in msgs]
    cand = as_predict_fn(candidate)(texts) if texts else []
    serv_pred: Sequence[Prediction | None] = as_predict_fn(serving)(texts) if (serving is not None and texts) \
        else [None] * len(msgs)
    changed: list[dict[str, Any]] = []
    avoided: list[dict[str, Any]] = []
    added: list[dict[str, Any]] = []
    transitions: Counter[tuple[str, str]] = Counter()
    avoided_by: Counter[str] = Counter()
    added_by: Counter[str] = Counter()
    n_changed = 0
    for m, c, sp in zip(msgs, cand, serv_pred, strict=True):
        if sp is not None:
            s_label, s_conf = sp.label, sp.confidence
            s_action, s_reason = intent_decision(sp, pol)
        else:
            s_label, s_conf = canonical_label(m.serving_intent), m.serving_confidence
            s_action, s_reason = m.action, m.handoff_reason
        c_action, c_reason = intent_decision(c, pol)
        row = {"message_id": m.message_id, "conversation_id": m.conversation_id, "text": redact(m.text),
               "serving_intent": s_label, "candidate_intent": c.label,
               "serving_confidence": round(s_conf, 4), "candidate_confidence": round(c.confidence, 4)}
        if s_label != c.label:
            n_changed += 1
            transitions[(s_label, c.label)] += 1
            if len(changed) < max_examples:
                changed.append(row)
        fixed_handoff = s_action == "handoff" and s_reason not in INTENT_REASONS
        if fixed_handoff:
            continue
        if s_action == "handoff" and c_action != "handoff":
            avoided_by[str(s_reason)] += 1
            if len(avoided) < max_examples:
                avoided.append({**row, "reason": s_reason})
        elif s_action != "handoff" and c_action == "handoff":
            added_by[str(c_reason)] += 1
            if len(added) < max_examples:
                added.append({**row, "reason": c_reason})
    return {
        "messages": len(msgs),
        "conversations": len({m.conversation_id for m in msgs if m.conversation_id is not None}),
        "intent_changed": n_changed,
        "changed_examples": changed,
        "top_transitions": [{"serving": a, "candidate": b, "count": k} for (a, b), k in transitions.most_common(10)],
        "handoffs_avoided": sum(avoided_by.values()),
        "handoffs_added": sum(added_by.values()),
        "avoided_by_reason": dict(avoided_by),
        "added_by_reason": dict(added_by),
        "avoided_examples": avoided,
        "added_examples": added,
        "policy": {"confidence_threshold": pol.confidence_threshold,
                   "handoff_on_out_of_scope": pol.handoff_on_out_of_scope,
                   "escalating_intents": sorted(pol.escalating_intents)},
    }
