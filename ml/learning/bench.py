"""Retrain on Banking77 through the learning loop's own code path and print the figures.

    python -m ml.learning.bench [--per-intent N] [--backend intent|linear] [--fast] [--out DIR]

Records -> ``build_training_set`` (redaction, dedup, hash split of *train*) ->
``train_candidate`` -> the gate against a 10-shot "serving" model -> test-split metrics
(test is never used for any choice). Prints one JSON object. Embeddings are cached under
the bench cache (``ml.datasets.cache_dir``) so a rerun measures the fit, not the encoder;
``fresh_embedding`` in the output says which it was.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np


def _cached_encoder() -> tuple[Any, Any, Any]:
    from ml.backends.embeddings import get_encoder
    from ml.datasets import cache_dir

    enc = get_encoder()
    path = cache_dir() / "learning_embeddings.npz"
    memo: dict[str, np.ndarray] = {}
    if path.exists():
        data = np.load(path, allow_pickle=False)
        memo = dict(zip(data["keys"].tolist(), data["vecs"], strict=True))
    state = {"fresh": 0}

    def key(t: str) -> str:
        return hashlib.sha1(t.encode()).hexdigest()  # noqa: S324 - cache key only

    def encode(texts: Sequence[str]) -> np.ndarray:
        missing = sorted({t for t in texts if key(t) not in memo})
        if missing:
            state["fresh"] += len(missing)
            memo.update(zip([key(t) for t in missing], enc.encode(missing), strict=True))
        return np.stack([memo[key(t)] for t in texts]) if texts else np.zeros((0, enc.dim), np.float32)

    def save() -> None:
        keys = list(memo)
        np.savez(path, keys=np.array(keys), vecs=np.stack([memo[k] for k in keys]))

    return encode, save, state


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    from ml.datasets import banking77
    from ml.learning.dataset import Record, build_training_set
    from ml.learning.gate import compare
    from ml.learning.metrics import evaluate
    from ml.learning.trainer import train_candidate

    ap = argparse.ArgumentParser()
    ap.add_argument("--per-intent", type=int, default=0, help="cap train examples per intent (0 = all)")
    ap.add_argument("--backend", default="intent", choices=["intent", "linear"])
    ap.add_argument("--out", default="")
    ap.add_argument("--fast", action="store_true", help="fixed IntentClassifier params (no grid search)")
    args = ap.parse_args(argv)

    encode, save_cache, cache_state = _cached_encoder()
    texts, labels = banking77("train")
    if args.per_intent:
        seen: dict[str, int] = defaultdict(int)
        keep = []
        for i, lb in enumerate(labels):
            if seen[lb] < args.per_intent:
                seen[lb] += 1
                keep.append(i)
        texts, labels = [texts[i] for i in keep], [labels[i] for i in keep]
    t0 = time.perf_counter()
    ds = build_training_set([Record(t, lb) for t, lb in zip(texts, labels, strict=True)])
    build_s = time.perf_counter() - t0
    stages: dict[str, float] = {}
    last_stage = [""]
    last_t = [time.perf_counter()]

    def progress(stage: str, step: int, total: int, loss: float | None) -> None:
        now = time.perf_counter()
        stages[last_stage[0]] = stages.get(last_stage[0], 0.0) + now - last_t[0]
        last_stage[0], last_t[0] = stage, now

    out_root = Path(args.out or tempfile.mkdtemp(prefix="kefu-bench-"))
    from ml.learning.trainer import TrainParams

    params = TrainParams(intent_params={"embedding_weight": 2.0, "C": 10.0, "knn_weight": 0.3}) if args.fast else None
    res = train_candidate(ds, out_dir=out_root / "candidate", encode=encode, finetune=False,
                          backend=args.backend, progress=progress, params=params)
    stages.pop("", None)
    # A weak "serving" model (10 examples per intent) to exercise the gate on the same data.
    ten: dict[str, list[str]] = defaultdict(list)
    for e in ds.train:
        if len(ten[e.label]) < 10:
            ten[e.label].append(e.text)
    weak_ds = build_training_set([Record(t, lb) for lb, ts in ten.items() for t in ts], validation_fraction=0.0)
    weak = train_candidate(weak_ds, out_dir=out_root / "serving", encode=encode, finetune=False,
                           backend=args.backend)
    vt, vl = ds.texts_labels("validation")
    cmp = compare(res.model, weak.model, vt, vl, validation_hash=ds.snapshot.validation_hash)
    test_t, test_l = banking77("test")
    test_emb = encode(test_t)

    def on_test(model: Any) -> dict[str, Any]:
        if hasattr(model, "evaluate") and hasattr(model, "classes"):
            result: dict[str, Any] = model.evaluate(test_t, test_l, embeddings=test_emb)
            return result
        return evaluate(lambda ts: model.predict(ts, embeddings=test_emb), test_t, test_l)

    test = on_test(res.model)
    save_cache()
    report = {
        "backend": args.backend, "fast": args.fast, "per_intent": args.per_intent or "all",
        "n_train": len(ds.train), "n_validation": len(ds.validation), "intents": len(ds.labels),
        "dataset_build_seconds": round(build_s, 2), "training_seconds": round(res.training_seconds, 1),
        "stage_seconds": {k: round(v, 1) for k, v in stages.items()},
        "fresh_embedding": cache_state["fresh"],
        "validation": {k: res.metrics.get(k) for k in ("accuracy", "macro_f1", "ece", "end_to_end")},
        "test": {k: (round(v, 4) if isinstance(v, float) else v) for k, v in test.items() if k != "confused_pairs"},
        "test_confused_top3": test.get("confused_pairs", [])[:3],
        "gate_vs_10shot": {"promote": cmp.decision.promote, "reason": cmp.decision.reason,
                           "serving_macro_f1": round(cmp.serving["macro_f1"], 4) if cmp.serving else None},
    }
    print(json.dumps(report, indent=1, default=float))
    return report


if __name__ == "__main__":
    main()
