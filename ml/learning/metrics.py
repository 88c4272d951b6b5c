"""One definition of the registry metrics, applied to any model's predictions.

The promotion gate compares two models on the same validation data, so both must be
scored by the same code: metrics are computed here from (true, predicted, confidence)
triples rather than trusted from whichever model produced them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ml.learning.dataset import OUT_OF_SCOPE, canonical_label


@dataclass(frozen=True)
class Prediction:
    label: str  # OUT_OF_SCOPE when the model abstains
    confidence: float


PredictFn = Callable[[Sequence[str]], list[Prediction]]


def parse_prediction(result: Any) -> Prediction:
    """Normalise the shapes intent models return (dict, object, (label, conf) or label)."""
    if isinstance(result, Prediction):
        return result
    if isinstance(result, tuple) and len(result) == 2:
        label, conf = result
        return Prediction(canonical_label(label), float(conf))
    if isinstance(result, str) or result is None:
        return Prediction(canonical_label(result), 1.0)
    get = result.get if isinstance(result, dict) else (lambda k, d=None: getattr(result, k, d))
    label = get("intent", None) or get("label", None) or get("name", None)
    conf = get("confidence", None)
    if conf is None:
        conf = get("probability", None) or get("score", 0.0)
    if bool(get("out_of_scope", False)):
        label = None
    return Prediction(canonical_label(label), float(conf or 0.0))


def as_predict_fn(model: Any) -> PredictFn:
    """A ``PredictFn`` over any model with ``predict(list[str])``."""
    if callable(model) and not hasattr(model, "predict"):
        return lambda texts: [parse_prediction(r) for r in model(list(texts))]
    return lambda texts: [parse_prediction(r) for r in model.predict(list(texts))]


def expected_calibration_error(confidences: Sequence[float], correct: Sequence[bool], bins: int = 10) -> float:
    """Weighted mean |accuracy - confidence| over equal-width confidence bins."""
    n = len(confidences)
    if n == 0:
        return 0.0
    totals = [0] * bins
    conf_sum = [0.0] * bins
    acc_sum = [0.0] * bins
    for c, ok in zip(confidences, correct, strict=True):
        b = min(bins - 1, max(0, int(c * bins)))
        totals[b] += 1
        conf_sum[b] += c
        acc_sum[b] += 1.0 if ok else 0.0
    return sum(abs(acc_sum[b] - conf_sum[b]) for b in range(bins) if totals[b]) / n


def compute_metrics(y_true: Sequence[str], predictions: Sequence[Prediction], *, top_confused: int = 10) -> dict[str, Any]:
    """accuracy, macro-F1 (over the in-scope labels of ``y_true``), OOS recall/precision
    (None when undefined), expected calibration error, most-confused pairs."""
    if len(y_true) != len(predictions):
        raise ValueError("y_true and predictions differ in length")
    truth = [canonical_label(t) for t in y_true]
    pred = [p.label for p in predictions]
    n = len(truth)
    correct = [t == p for t, p in zip(truth, pred, strict=True)]
    labels = sorted({t for t in truth if t != OUT_OF_SCOPE})
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    confused: Counter[tuple[str, str]] = Counter()
    for t, p in zip(truth, pred, strict=True):
        if t == p:
            tp[t] += 1
        else:
            fp[p] += 1
            fn[t] += 1
            confused[(t, p)] += 1
    f1s = []
    for lb in labels:
        denom = 2 * tp[lb] + fp[lb] + fn[lb]
        f1s.append(2 * tp[lb] / denom if denom else 0.0)
    oos_true = sum(1 for t in truth if t == OUT_OF_SCOPE)
    oos_pred = sum(1 for p in pred if p == OUT_OF_SCOPE)
    oos_tp = tp[OUT_OF_SCOPE]
    return {
        "n": n,
        "accuracy": sum(correct) / n if n else 0.0,
        "macro_f1": sum(f1s) / len(f1s) if f1s else 0.0,
        "oos_recall": oos_tp / oos_true if oos_true else None,
        "oos_precision": oos_tp / oos_pred if oos_pred else None,
        "ece": expected_calibration_error([p.confidence for p in predictions], correct),
        "confused_pairs": [{"true": a, "pred": b, "count": c} for (a, b), c in confused.most_common(top_confused)],
    }


def evaluate(model_or_fn: Any, texts: Sequence[str], labels: Sequence[str]) -> dict[str, Any]:
    """Metrics of a model (anything ``as_predict_fn`` accepts) on labelled texts.

    Deliberately not the model's own ``evaluate``: ``IntentClassifier.evaluate`` treats
    a label the model does not know as out of scope, so a serving model that predates a
    new intent would be scored on fewer examples than the candidate. Here every example
    counts for every model, and an abstention on an in-scope example is an error.
    """
    fn = as_predict_fn(model_or_fn)
    return compute_metrics(labels, fn(texts) if texts else [])
