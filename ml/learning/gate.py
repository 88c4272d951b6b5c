"""Promotion gate: a candidate replaces the serving model only when it is clearly better.

Both models are scored by ``ml.learning.metrics`` on the *same* validation examples
(the candidate's), so a number never improves just because the data moved. The margin
keeps noise from flapping the serving version; the OOS-recall guard keeps a model that
is more accurate on known intents but answers things it should hand off from winning.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from ml.learning.metrics import evaluate


@dataclass(frozen=True)
class GatePolicy:
    min_macro_f1_gain: float = 0.005          # +0.5 pt macro-F1
    max_oos_recall_drop: float = 0.02         # at most -2 pt OOS recall
    max_accuracy_drop: float = 0.0            # accuracy must not go down
    max_ece_increase: float | None = 0.05     # calibration drives handoffs; None = ignore
    min_validation_examples: int = 1
    min_first_macro_f1: float = 0.0           # a first model only has to exist

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> GatePolicy:
        if not d:
            return cls()
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class GateDecision:
    promote: bool
    reason: str

    def __iter__(self) -> Iterator[bool | str]:  # allows ``promote, reason = decide(...)``
        return iter((self.promote, self.reason))


def _pt(x: float) -> str:
    return f"{100 * x:+.1f} pt"


def decide(candidate: Mapping[str, Any], serving: Mapping[str, Any] | None,
           policy: GatePolicy | None = None) -> GateDecision:
    """Decide from two metric dicts computed on the same validation data.

    Metric dicts may carry ``validation_hash``; when both do and they differ the
    comparison is refused rather than trusted.
    """
    p = policy or GatePolicy()
    n = int(candidate.get("n", 0) or 0)
    if n < p.min_validation_examples:
        return GateDecision(False, f"validation set too small ({n} < {p.min_validation_examples} examples)")
    c_f1 = float(candidate.get("macro_f1", 0.0))
    if serving is None:
        if c_f1 < p.min_first_macro_f1:
            return GateDecision(False, f"first model below the floor: macro-F1 {c_f1:.3f} < {p.min_first_macro_f1:.3f}")
        return GateDecision(True, f"no serving model; first version (macro-F1 {c_f1:.3f})")
    ch, sh = candidate.get("validation_hash"), serving.get("validation_hash")
    if ch and sh and ch != sh:
        return GateDecision(False, "not evaluated on the same validation data")
    s_f1 = float(serving.get("macro_f1", 0.0))
    gain = c_f1 - s_f1
    if gain < p.min_macro_f1_gain:
        return GateDecision(False, f"macro-F1 {c_f1:.3f} vs serving {s_f1:.3f} ({_pt(gain)}), "
                                   f"needs at least {_pt(p.min_macro_f1_gain)}")
    c_oos, s_oos = candidate.get("oos_recall"), serving.get("oos_recall")
    if c_oos is not None and s_oos is not None and s_oos - c_oos > p.max_oos_recall_drop:
        return GateDecision(False, f"out-of-scope recall drops {s_oos:.3f} -> {c_oos:.3f} "
                                   f"({_pt(c_oos - s_oos)}), allowed {_pt(-p.max_oos_recall_drop)}")
    c_acc, s_acc = float(candidate.get("accuracy", 0.0)), float(serving.get("accuracy", 0.0))
    if s_acc - c_acc > p.max_accuracy_drop + 1e-12:
        return GateDecision(False, f"accuracy drops {s_acc:.3f} -> {c_acc:.3f} ({_pt(c_acc - s_acc)})")
    c_ece, s_ece = candidate.get("ece"), serving.get("ece")
    if p.max_ece_increase is not None and c_ece is not None and s_ece is not None \
            and float(c_ece) - float(s_ece) > p.max_ece_increase:
        return GateDecision(False, f"calibration error rises {float(s_ece):.3f} -> {float(c_ece):.3f}")
    return GateDecision(True, f"macro-F1 {c_f1:.3f} vs serving {s_f1:.3f} ({_pt(gain)}); accuracy "
                              f"{c_acc:.3f} vs {s_acc:.3f}")


@dataclass
class Comparison:
    candidate: dict[str, Any]
    serving: dict[str, Any] | None
    decision: GateDecision


def compare(candidate_model: Any, serving_model: Any | None, texts: Sequence[str], labels: Sequence[str], *,
            policy: GatePolicy | None = None, validation_hash: str = "") -> Comparison:
    """Score both models on the same ``texts``/``labels`` and apply the gate.

    ``serving_model`` is anything with ``predict(list[str])`` (or a callable), or None
    when the tenant has no serving version yet.
    """
    cand = evaluate(candidate_model, texts, labels)
    cand["validation_hash"] = validation_hash
    serv = None
    if serving_model is not None:
        serv = evaluate(serving_model, texts, labels)
        serv["validation_hash"] = validation_hash
    return Comparison(cand, serv, decide(cand, serv, policy))
