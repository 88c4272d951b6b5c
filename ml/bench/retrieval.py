"""Learned retrieval bench: ``make bench-retrieval`` (``python -m ml.bench.retrieval``).

On the Bank FAQ set (``ml.datasets.bank_faqs``: one article per unique answer, every
question of it a query), queries are split into a *dev* and a *test* half by the same hash
of the query text as ``ml.bench.answer``. The dev-half question -> article pairs go through
``ml.learning.retrieval.retrain_retrieval`` — the function the ``retrain_retrieval`` task
runs (split, train the query adapter, gate on held-out pairs, write the artifact) — and
the *test* half is searched through the hybrid index twice in the same run: with the
frozen encoder (baseline) and with the learned adapter (``AdaptedIndex``, what serving
uses), each query with the English BM25 weight the answer step uses.

Wall time counts everything, with the embeddings' measured compute time even when they
come from the bench cache.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

import numpy as np

from ml import datasets
from ml.bench.answer import _half
from ml.bench.common import embed_cached, table, write_results

TARGETS = {"hit1": 0.60, "hit5": 0.85, "wall_s": 600}


def faq_pairs() -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    faq = datasets.bank_faqs()
    return faq, [(q, f["id"]) for f in faq for q in f["questions"]]


def run(*, epochs: int | None = None) -> dict[str, Any]:
    from ml.learning.retrieval import AdaptedIndex, AdapterParams, RetrievalPair, evaluate, retrain_retrieval
    from ml.retrieval import Chunk, HybridIndex

    t_all = time.perf_counter()
    load_before = os.getloadavg()[0]
    faq, pairs = faq_pairs()
    a_vec, a_secs, _ = embed_cached("faq-answers", [f["answer"] for f in faq])
    index = HybridIndex.build([Chunk(f["id"], f["id"], "", f["answer"]) for f in faq], a_vec)
    encode_seconds = [a_secs]

    def encode(texts: list[str]) -> np.ndarray:
        vecs, secs, cached = embed_cached("faq-retrieval-q", texts)
        encode_seconds.append(secs if cached else 0.0)  # fresh work is inside the wall clock already
        return vecs

    dev = [RetrievalPair(question=q, article_id=a, source="faq_import") for q, a in pairs if _half(q) == "dev"]
    test = [RetrievalPair(question=q, article_id=a) for q, a in pairs if _half(q) == "test"]
    print(f"FAQ: {len(faq)} articles, {len(dev)} dev pairs (training), {len(test)} test pairs", flush=True)
    params = AdapterParams() if epochs is None else AdapterParams(epochs=epochs)
    t_train = time.perf_counter()
    outcome = retrain_retrieval(dev, index=index, encode=encode, out_dir=datasets.cache_dir() / "retrieval-adapter",
                                params=params)
    train_s = time.perf_counter() - t_train
    assert outcome.candidate is not None, outcome.reason
    test_q = encode([p.question for p in test])
    base = evaluate(index, test, test_q)
    learned = evaluate(AdaptedIndex(index, outcome.candidate), test, test_q)
    wall = time.perf_counter() - t_all + sum(encode_seconds)
    rows = [["frozen MiniLM (baseline)", base["hit@1"], base["hit@5"], base["mrr@10"], base["n"]],
            ["learned query adapter", learned["hit@1"], learned["hit@5"], learned["mrr@10"], learned["n"]]]
    print(table(rows, ["FAQ test half", "hit@1", "hit@5", "MRR@10", "n"]), flush=True)
    print(f"gate on held-out dev pairs: {'promote' if outcome.promote else 'keep'} ({outcome.reason})")
    device = outcome.stats["training"]["device"]
    summary = {"hit1": learned["hit@1"], "hit5": learned["hit@5"], "mrr10": learned["mrr@10"],
               "baseline_hit1": base["hit@1"], "baseline_hit5": base["hit@5"], "baseline_mrr10": base["mrr@10"],
               "wall_s": round(wall, 1), "train_s": round(train_s, 1), "device": device,
               "gate_promote": outcome.promote, "load_average_1m": round(max(load_before, os.getloadavg()[0]), 2),
               "n_train_pairs": len(dev), "n_test_pairs": len(test), "targets": TARGETS}
    results = {"summary": summary, "test": {"baseline": base, "learned": learned}, "gate": outcome.gate,
               "training": outcome.stats}
    print(table([[k, summary[k]] for k in ("hit1", "hit5", "baseline_hit1", "baseline_hit5", "wall_s", "device",
                                           "load_average_1m")], ["bench-retrieval", "value"]))
    print(f"wrote {write_results('retrieval', results)}")
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=None, help="adapter epochs (default: AdapterParams)")
    run(epochs=ap.parse_args().epochs)


if __name__ == "__main__":
    main()
