"""Intent for Chinese (and other CJK) messages from character bigrams.

MiniLM knows ~244 CJK characters, so Chinese sentence vectors are near-identical and its
intent head picks an arbitrary intent (a question about opening hours "escalates" as an
emergency). For a message in CJK script the intent is instead the one whose examples share
the most character bigrams with it (BM25's trick for Chinese), and only when that overlap
reaches ``AgentSettings.cjk_intent_min_overlap``.
"""

from __future__ import annotations

import threading
from typing import Any

from ml.serving import IntentPrediction
from ml.text import is_cjk

_cache: dict[tuple[int, Any], dict[str, list[set[str]]]] = {}
_lock = threading.Lock()


def cjk_share(text: str) -> float:
    letters = [c for c in text if c.isalpha()]
    return sum(1 for c in letters if is_cjk(c)) / len(letters) if letters else 0.0


def _bigrams(text: str) -> set[str]:
    chars = [c for c in text if is_cjk(c)]
    return {a + b for a, b in zip(chars, chars[1:], strict=False)} or set(chars)


def _examples(tenant_id: int, key: Any) -> dict[str, list[set[str]]]:
    """Bigram sets of the tenant's CJK intent examples, by intent (cached per revision)."""
    cached = _cache.get((tenant_id, key))
    if cached is not None:
        return cached
    from ml import selectors

    by_intent: dict[str, list[set[str]]] = {}
    for name, text in selectors.training_examples(tenant=tenant_id):
        grams = _bigrams(text)
        if grams:
            by_intent.setdefault(str(name), []).append(grams)
    with _lock:
        for old in [k for k in _cache if k[0] == tenant_id]:
            _cache.pop(old, None)
        _cache[(tenant_id, key)] = by_intent
    return by_intent


def lexical_intent(text: str, *, tenant_id: int, key: Any, min_overlap: float) -> IntentPrediction:
    """The intent whose examples share the most bigrams with ``text`` (share of the
    message's bigrams); none below ``min_overlap``."""
    grams = _bigrams(text)
    scores: dict[str, float] = {}
    for name, examples in _examples(tenant_id, key).items():
        scores[name] = max(len(grams & ex) / len(grams) for ex in examples) if grams else 0.0
    ranked = sorted(scores.items(), key=lambda kv: -kv[1])
    candidates = [{"name": n, "overlap": round(s, 4)} for n, s in ranked[:3]]
    if not ranked or ranked[0][1] < min_overlap:
        return IntentPrediction(None, round(ranked[0][1], 4) if ranked else 0.0, True, candidates)
    return IntentPrediction(ranked[0][0], round(ranked[0][1], 4), False, candidates)
