"""An answer-or-abstain model fitted from a tenant's own knowledge, without labelled turns.

Leave-one-article-out: each article's title is asked as a question twice, once against the
tenant's index (a positive when the answer step picks that very article) and once against
the index without that article (a synthetic negative: the right article is gone, whatever
the bot would answer is wrong). The features are the answer step's own
(``ml.answering.answer.probe_features``); the model and its threshold come from
``ml.answering.answerability.fit`` like the shipped one.

Opt-in per tenant (``AnswerSettings.answerability_from_knowledge``): titles are only a proxy
for visitors' questions, so the shipped model (fitted on labelled FAQ turns) stays the
default. Fitted lazily on the first answer turn after a knowledge change, cached per
knowledge revision in this process.
"""

from __future__ import annotations

import hashlib
import threading
from typing import Any

import numpy as np

from ml.answering.answerability import AnswerabilityModel, fit
from ml.retrieval import HybridIndex

MIN_ARTICLES = 8  # fewer: not enough turns to fit eleven coefficients; the shipped model decides
MAX_ARTICLES = 60  # a sample bounds the fitting time of a large knowledge base

_models: dict[tuple[int, Any], AnswerabilityModel | None] = {}
_lock = threading.Lock()


def model_for(state: Any) -> AnswerabilityModel | None:
    """The tenant's knowledge-fitted model (None when it has too few articles)."""
    key = (id(state.index), state.key[0][0] if state.key else None)
    with _lock:
        if key in _models:
            return _models[key]
    model = fit_from_knowledge(state)
    with _lock:
        _models[key] = model
    return model


def _base_index(index: Any) -> HybridIndex:
    base: HybridIndex = getattr(index, "base", index)  # a learned-retrieval wrapper keeps the plain index as .base
    return base


def without_article(index: HybridIndex, article_id: str) -> HybridIndex:
    keep = [i for i, c in enumerate(index.chunks) if c.article_id != article_id]
    return HybridIndex.build([index.chunks[i] for i in keep], index.embeddings[keep], fusion=index.fusion,
                             bm25_weight=index.bm25_weight)


def fit_from_knowledge(state: Any) -> AnswerabilityModel | None:
    from ml.answering.answer import AnswerSettings, probe_features
    from ml.serving import encode

    if state.index is None:
        return None
    index = _base_index(state.index)
    in_index = {c.article_id for c in index.chunks}
    articles = sorted((aid for aid in state.articles if aid in in_index),
                      key=lambda a: hashlib.sha256(a.encode()).hexdigest())[:MAX_ARTICLES]
    if len(articles) < MIN_ARTICLES:
        return None
    cfg = AnswerSettings.from_policy(state.policy)
    titles = [str(state.articles[aid]["title"]) for aid in articles]
    vecs = encode(titles)
    rows: list[dict[str, float]] = []
    labels: list[int] = []
    covered: list[bool] = []
    for aid, title, qvec in zip(articles, titles, np.asarray(vecs), strict=True):
        language = str(state.articles[aid].get("language") or "en")
        for removed in (False, True):
            probed = probe_features(state, without_article(index, aid) if removed else index, title, qvec,
                                    language, cfg)
            if probed is None:
                continue
            features, picked = probed
            rows.append(features)
            labels.append(int(not removed and picked == aid))
            covered.append(not removed)
    if sum(labels) < 3 or len(labels) - sum(labels) < 3:
        return None
    return fit(rows, labels, covered, source=f"tenant knowledge, leave-one-article-out over {len(articles)} "
                                             f"article titles ({len(rows)} turns)")
