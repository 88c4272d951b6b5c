"""The learned retrieval model (ml.learning.retrieval) on real Bank FAQ pairs and the real
MiniLM encoder: the gate promotes a candidate only when held-out hit@1 improves, the
artifact round-trips, and the identity adapter ranks as the frozen encoder does."""

from __future__ import annotations

import numpy as np
import pytest

from ml.learning.retrieval import (
    AdaptedIndex,
    AdapterParams,
    QueryAdapter,
    RetrievalPair,
    decide,
    evaluate,
    retrain_retrieval,
    split_pairs,
)
from ml.retrieval import Chunk, HybridIndex

N_ARTICLES = 160


@pytest.fixture(scope="module")
def faq_index(encode):
    """The first FAQ answers as one-chunk articles, and one question -> article pair each."""
    from ml.datasets import bank_faqs

    faq = [f for f in bank_faqs() if f["questions"]][:N_ARTICLES]
    answers = [f["answer"][:400] for f in faq]  # the lead: what MiniLM reads of a long answer anyway
    index = HybridIndex.build([Chunk(f["id"], f["id"], "", a) for f, a in zip(faq, answers, strict=True)],
                              encode(answers))
    pairs = [RetrievalPair(question=q, article_id=f["id"], source="faq_import") for f in faq for q in f["questions"]]
    return index, pairs


def _metrics(hit1, hit5=0.5, n=10, per_language=None):
    return {"hit@1": hit1, "hit@5": hit5, "n": n, "per_language": per_language or {}}


def test_gate_needs_better_hit1_and_no_language_losing():
    assert decide(_metrics(0.6), _metrics(0.5))[0]
    assert not decide(_metrics(0.5), _metrics(0.5))[0]
    assert not decide(_metrics(0.4), _metrics(0.5))[0]
    assert not decide(_metrics(0.9, n=2), _metrics(0.5, n=2))[0], "too few held-out pairs"
    worse_zh = decide(_metrics(0.7, per_language={"en": _metrics(0.8), "zh": _metrics(0.4)}),
                      _metrics(0.5, per_language={"en": _metrics(0.5), "zh": _metrics(0.5)}))
    assert not worse_zh[0] and "zh" in worse_zh[1]


def test_split_is_stable_deduplicated_and_drops_dead_articles():
    pairs = [RetrievalPair(f"question number {i}", f"a{i % 5}") for i in range(200)]
    pairs.append(RetrievalPair("Question number 3", "a4"))  # a newer label of the same question wins
    train, val = split_pairs(pairs, known_articles={"a0", "a1", "a2", "a3", "a4"})
    assert len(train) + len(val) == 200 and 30 <= len(val) <= 70
    assert [p for p in train + val if p.question.lower() == "question number 3"][0].article_id == "a4"
    # A pair's side depends on its question only, not on the order or the other pairs.
    assert {p.question for p in split_pairs(list(reversed(pairs[:-1])))[1]} == \
        {p.question for p in split_pairs(pairs[:-1])[1]}
    assert {p.question for p in split_pairs(pairs[:50])[1]} <= {p.question for p in val}
    train2, val2 = split_pairs(pairs, known_articles={"a0"})
    assert {p.article_id for p in train2 + val2} == {"a0"}


def test_identity_adapter_gives_the_frozen_rankings_exactly(faq_index, encode, tmp_path):
    index, pairs = faq_index
    qv = encode([p.question for p in pairs[:30]])
    saved = QueryAdapter(np.eye(index.embeddings.shape[1], dtype=np.float32)).save(tmp_path / "identity")
    adapted = AdaptedIndex(index, QueryAdapter.load(saved))
    for p, v in zip(pairs[:30], qv, strict=True):
        got, frozen = adapted.search(p.question, v, 10), index.search(p.question, v, 10)
        assert [h.chunk_id for h in got] == [h.chunk_id for h in frozen]
        assert np.allclose([h.score for h in got], [h.score for h in frozen], atol=1e-5)  # float32 renormalising
    assert not (tmp_path / "identity.partial").exists()


def test_candidate_promoted_only_when_better(faq_index, encode, tmp_path):
    index, pairs = faq_index
    params = AdapterParams(epochs=15)
    first = retrain_retrieval(pairs, index=index, encode=encode, out_dir=tmp_path / "v1", params=params)
    assert first.trained and first.candidate is not None
    cand, serv = first.gate["candidate"], first.gate["serving"]
    assert cand["n"] == serv["n"] >= 20
    # The decision is the gate's on these numbers, whichever way they went.
    assert first.promote == (cand["hit@1"] > serv["hit@1"])
    loaded = QueryAdapter.load(first.artifact_dir)
    assert np.array_equal(loaded.matrix, first.candidate.matrix)
    # Retraining the same data with the same seed against that model as serving: the
    # candidate is the same model, so it does not improve and is not promoted.
    again = retrain_retrieval(pairs, index=index, encode=encode, out_dir=tmp_path / "v2", params=params,
                              serving=loaded)
    assert again.gate["candidate"]["hit@1"] == again.gate["serving"]["hit@1"]
    assert not again.promote and "no improvement" in again.reason
    vals = [p for p in split_pairs(pairs)[1]]
    direct = evaluate(AdaptedIndex(index, loaded), vals, encode([p.question for p in vals]))
    assert direct["hit@1"] == cand["hit@1"]


def test_too_few_pairs_trains_nothing(faq_index, encode, tmp_path):
    index, pairs = faq_index
    out = retrain_retrieval(pairs[:4], index=index, encode=encode, out_dir=tmp_path / "x")
    assert not out.trained and not out.promote and not (tmp_path / "x").exists()
