"""Sentiment bench on Twitter US Airline Sentiment: ``python -m ml.bench.sentiment``.

Evaluation only (CC BY-NC-SA): the shipped model is built from our own seed sentences and
lexicon and is neither trained nor tuned on this set. Scored on a fixed stratified 20%
split (seed 0), as the data's SOURCE.md suggests; ``--all`` scores every row.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np

from ml import datasets
from ml.bench.common import embed_cached, table, write_results
from ml.nlu.intent import train_val_split
from ml.nlu.sentiment import LABELS, SentimentClassifier, lexical_scores


def run(*, all_rows: bool = False) -> dict[str, Any]:
    from sklearn.metrics import accuracy_score, f1_score

    t0 = time.perf_counter()
    texts, labels = datasets.airline_sentiment()
    if not all_rows:
        _, test_idx = train_val_split(labels, val_fraction=0.2, seed=0, texts=texts)
        texts = [texts[i] for i in test_idx]
        labels = [labels[i] for i in test_idx]
    emb, emb_s, _ = embed_cached("airline" + ("-all" if all_rows else "-test20"), texts)
    model = SentimentClassifier()
    variants = {"prototypes + lexicon (shipped)": model,
                "prototypes only": SentimentClassifier(model.encoder, lexical_weight=0.0)}
    rows = []
    out: dict[str, Any] = {"n": len(texts), "split": "all" if all_rows else "stratified 20% seed 0",
                           "label_counts": {lab: labels.count(lab) for lab in LABELS}}
    for name, m in variants.items():
        t1 = time.perf_counter()
        preds = [p.label for p in m.predict(texts, embeddings=emb)]
        secs = time.perf_counter() - t1
        acc = accuracy_score(labels, preds)
        f1 = f1_score(labels, preds, average="macro", labels=list(LABELS))
        out[name] = {"accuracy": acc, "macro_f1": f1, "seconds": secs}
        rows.append([name, acc, f1])
    lex = [LABELS[int(np.argmax(lexical_scores(t) + np.array([0, 0.01, 0])))] for t in texts]
    out["lexicon only"] = {"accuracy": accuracy_score(labels, lex),
                           "macro_f1": f1_score(labels, lex, average="macro", labels=list(LABELS))}
    rows.append(["lexicon only", out["lexicon only"]["accuracy"], out["lexicon only"]["macro_f1"]])
    maj = max(LABELS, key=labels.count)
    rows.append([f"majority ({maj})", labels.count(maj) / len(labels),
                 f1_score(labels, [maj] * len(labels), average="macro", labels=list(LABELS))])
    out["wall_seconds"] = time.perf_counter() - t0 + emb_s
    print(table(rows, ["sentiment model", "accuracy", "macro-F1"]))
    print(f"n={len(texts)} ({out['split']}), wall incl. embedding {out['wall_seconds']:.0f}s")
    out["table"] = rows
    print(f"wrote {write_results('sentiment', out)}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--all", action="store_true")
    run(all_rows=ap.parse_args().all)


if __name__ == "__main__":
    main()
