"""Answer or abstain: a calibrated decision over what the answer step measured.

A logistic regression over a few turn features (retrieval scores and margin, BM25/dense
agreement, lexical coverage, intent confidence, the extractive candidate's grounding and
relevance, language match) gives P(the answer cites the right article). The bot answers
when that probability clears a threshold.

How it is fitted (``fit``): positives are turns whose answer cited the gold article;
negatives are turns that cited a wrong one and turns asked after the gold article was
removed from the knowledge base (synthetic negatives). The threshold is then chosen on
the same *dev* data: the smallest one at which wrong-but-confident answers stay under
``max_wrong`` of answered turns, so abstaining is preferred to guessing.

The shipped default (``answerability.json`` beside this module) is fitted by
``python -m ml.bench.answer --write-default`` on the Bank FAQ dev half only. A tenant
with enough articles of its own gets a model fitted at startup from its knowledge by
leave-one-article-out (``ml.answering.tenant_calibration``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_PATH = Path(__file__).with_name("answerability.json")

FEATURES: tuple[str, ...] = (
    "top_score",          # fused retrieval score of the best chunk
    "top_dense",          # its dense cosine
    "margin",             # fused top1 - top2 (a different article), 0 when there is one hit
    "agreement",          # 1 when BM25 and dense put the same article first
    "coverage",           # share of the query's tokens found in the best chunk
    "intent_confidence",  # the intent model's confidence (0 when no intent matched)
    "best_sentence_sim",  # cosine of the closest evidence sentence to the question
    "support",            # weakest support of the extractive candidate's sentences
    "relevance",          # extractive candidate vs question
    "passed",             # the extractive candidate passed every grounding rule
    "language_match",     # the cited article is in the visitor's language
)


@dataclass
class AnswerabilityModel:
    """Logistic regression on standardised features plus the chosen threshold."""

    coef: list[float]
    intercept: float
    mean: list[float]
    scale: list[float]
    threshold: float
    source: str = ""
    features: tuple[str, ...] = FEATURES

    def probability(self, feats: Mapping[str, float]) -> float:
        x = (np.array([float(feats.get(n, 0.0)) for n in self.features]) - self.mean) / self.scale
        z = float(np.dot(self.coef, x) + self.intercept)
        return float(1.0 / (1.0 + np.exp(-z)))

    def probabilities(self, rows: Sequence[Mapping[str, float]]) -> np.ndarray:
        return np.array([self.probability(r) for r in rows])

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["features"] = list(self.features)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AnswerabilityModel:
        return cls(coef=[float(c) for c in data["coef"]], intercept=float(data["intercept"]),
                   mean=[float(m) for m in data["mean"]], scale=[float(s) for s in data["scale"]],
                   threshold=float(data["threshold"]), source=str(data.get("source", "")),
                   features=tuple(data.get("features") or FEATURES))

    def save(self, path: Path = DEFAULT_PATH) -> None:
        path.write_text(json.dumps(self.as_dict(), indent=2) + "\n")


def matrix(rows: Sequence[Mapping[str, float]]) -> np.ndarray:
    return np.array([[float(r.get(n, 0.0)) for n in FEATURES] for r in rows], dtype=np.float64)


def choose_threshold(probs: np.ndarray, labels: np.ndarray, covered: np.ndarray, *,
                     max_wrong: float = 0.10, min_answered: float = 0.75) -> float:
    """The threshold (on dev data) keeping wrong-but-confident answers, as a share of all
    answered turns, at most ``max_wrong`` while answering as many covered turns as possible;
    when no threshold reaches ``min_answered`` of covered turns, the one with the fewest
    wrong answers among those that do."""
    grid = np.unique(np.round(probs, 4))
    best: tuple[float, float] | None = None  # (answered covered share, threshold)
    fallback: tuple[float, float] | None = None  # (wrong share, threshold)
    for thr in grid:
        answered = probs >= thr
        if not answered.any():
            continue
        wrong = float((answered & (labels == 0)).sum() / answered.sum())
        answered_cov = float((answered & covered).sum() / max(1, covered.sum()))
        if wrong <= max_wrong and (best is None or answered_cov > best[0]):
            best = (answered_cov, float(thr))
        if answered_cov >= min_answered and (fallback is None or wrong < fallback[0]):
            fallback = (wrong, float(thr))
    if best is not None and best[0] >= min_answered:
        return best[1]
    if fallback is not None:
        return fallback[1]
    return best[1] if best is not None else 0.5


def fit(rows: Sequence[Mapping[str, float]], labels: Sequence[int], covered: Sequence[bool], *,
        source: str, max_wrong: float = 0.10, min_answered: float = 0.75, c: float = 1.0) -> AnswerabilityModel:
    """Fit on labelled turns (1 = answer cites the gold article, 0 = wrong article or gold
    removed). ``covered`` marks turns whose gold article was in the knowledge base."""
    from sklearn.linear_model import LogisticRegression

    x = matrix(rows)
    y = np.asarray(labels, dtype=int)
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-6] = 1.0
    clf = LogisticRegression(C=c, max_iter=2000, class_weight="balanced")
    clf.fit((x - mean) / scale, y)
    model = AnswerabilityModel(coef=[float(v) for v in clf.coef_[0]], intercept=float(clf.intercept_[0]),
                               mean=[float(v) for v in mean], scale=[float(v) for v in scale],
                               threshold=0.5, source=source)
    model.threshold = choose_threshold(model.probabilities(rows), y, np.asarray(covered, dtype=bool),
                                       max_wrong=max_wrong, min_answered=min_answered)
    return model


_UNSET = object()
_installed: Any = _UNSET


def install(model: AnswerabilityModel | None) -> None:
    """Use ``model`` (None: no model) instead of the shipped one in this process (benches)."""
    global _installed
    _installed = model


def default_model() -> AnswerabilityModel | None:
    """The model in use: one installed in this process, else the shipped one, else None
    (then the grounding rules and ``min_sentence_sim`` alone decide)."""
    if _installed is not _UNSET:
        return _installed  # type: ignore[no-any-return]
    return _shipped_model()


@lru_cache(maxsize=1)
def _shipped_model() -> AnswerabilityModel | None:
    if not DEFAULT_PATH.exists():
        return None
    return AnswerabilityModel.from_dict(json.loads(DEFAULT_PATH.read_text()))
