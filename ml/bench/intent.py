"""Banking77 intent bench: ``python -m ml.bench.intent``.

Everything goes through ``IntentClassifier.train`` (the code path tenants use).
Hyper-parameters, temperature and OOS thresholds are chosen on validation data carved
from the *train* split; the test split is only scored.

Rows:
- full: all of train (15% carved internally for tuning, then refit on all);
- OOS: 10 intents removed from training; 5 of them (train examples) tune the OOS
  thresholds, the other 5 (test examples) measure OOS recall/precision, so the test OOS
  intents are never seen in any form;
- 10-shot: 10 examples per intent sampled from the 85% train part, validation = the
  15% part, mean of 5 seeds.
Reported training time includes embedding time (measured when embeddings were computed,
even if this run read them from the on-disk cache).
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

import numpy as np

from ml import datasets
from ml.bench.common import embed_cached, table, write_results
from ml.nlu.intent import IntentClassifier, train_val_split

N_OOS_INTENTS = 10


def oos_split(intents: list[str], seed: int = 0) -> tuple[list[str], list[str]]:
    """Held-out intents: (tuning OOS intents, test OOS intents), 5 + 5, deterministic."""
    rng = np.random.default_rng(seed)
    held = sorted(rng.choice(sorted(intents), N_OOS_INTENTS, replace=False).tolist())
    return held[::2], held[1::2]


def oos_test_curve(model: IntentClassifier, texts: list[str], labels: list[str | None],
                   embeddings: np.ndarray) -> list[dict[str, float]]:
    """The validation operating points (``model.info["oos_curve"]``) applied to the test
    split: in-scope rejection, OOS recall and precision a tenant gets at each budget."""
    chosen = (model.prob_threshold, model.sim_threshold)
    rows, out = [], []
    try:
        for point in model.info.get("oos_curve") or []:
            model.prob_threshold, model.sim_threshold = point["prob_threshold"], point["sim_threshold"]
            mt = model.evaluate(texts, labels, embeddings=embeddings)
            out.append({**point, "test_in_scope_reject": mt["in_scope_flagged_oos"],
                        "test_oos_recall": mt["oos_recall"], "test_oos_precision": mt["oos_precision"]})
            rows.append([point["budget"], mt["in_scope_flagged_oos"], mt["oos_recall"], mt["oos_precision"]])
    finally:
        model.prob_threshold, model.sim_threshold = chosen
    print(table(rows, ["in-scope reject budget", "test in-scope rejected", "test OOS recall", "test OOS precision"]),
          flush=True)
    return out


def run(*, use_cache: bool = True, shots: int = 10, seeds: int = 5) -> dict[str, Any]:
    t_all = time.perf_counter()
    tr_x, tr_y = datasets.banking77("train")
    te_x, te_y = datasets.banking77("test")
    tr_e, tr_es, tr_cached = embed_cached("b77-train", tr_x, use_cache=use_cache)
    te_e, te_es, te_cached = embed_cached("b77-test", te_x, use_cache=use_cache)
    print(f"embeddings: train {len(tr_x)} in {tr_es:.1f}s ({'cached' if tr_cached else 'computed'}), "
          f"test {len(te_x)} in {te_es:.1f}s", flush=True)
    results: dict[str, Any] = {"dataset": "banking77", "n_train": len(tr_x), "n_test": len(te_x),
                               "embed_seconds_train": tr_es, "embed_seconds_test": te_es,
                               "threads": os.environ.get("KEFU_TORCH_THREADS", "all cores")}
    rows: list[list[Any]] = []

    # ---- full
    t0 = time.perf_counter()
    full = IntentClassifier.train(tr_x, tr_y, embeddings=tr_e, seed=0)
    fit_s = time.perf_counter() - t0
    m = full.evaluate(te_x, te_y, embeddings=te_e)
    results["full"] = {"metrics": m, "fit_seconds": fit_s, "train_seconds_incl_embedding": fit_s + tr_es,
                       "params": full.params, "temperature": full.temperature,
                       "search": full.info.get("search"), "val_accuracy": full.info.get("val_accuracy")}
    rows.append(["full (10,003 ex.)", m["accuracy"], m["macro_f1"], m["ece"], "-", "-", fit_s + tr_es])
    print(f"full: acc {m['accuracy']:.4f} f1 {m['macro_f1']:.4f} params {full.params} ({fit_s:.0f}s fit)", flush=True)

    # ---- out-of-scope (held-out intents)
    tune_oos, test_oos = oos_split(sorted(set(tr_y)))
    held = set(tune_oos) | set(test_oos)
    keep = [i for i, y in enumerate(tr_y) if y not in held]
    oos_tune_idx = [i for i, y in enumerate(tr_y) if y in tune_oos]
    t0 = time.perf_counter()
    oos_model = IntentClassifier.train([tr_x[i] for i in keep], [tr_y[i] for i in keep],
                                       embeddings=tr_e[keep], seed=0, params=full.params,
                                       oos_texts=[tr_x[i] for i in oos_tune_idx],
                                       oos_embeddings=tr_e[oos_tune_idx])
    oos_fit = time.perf_counter() - t0
    te_idx = [i for i, y in enumerate(te_y) if y not in tune_oos]  # drop tuning intents from test
    labels = [te_y[i] if te_y[i] not in test_oos else None for i in te_idx]
    mo = oos_model.evaluate([te_x[i] for i in te_idx], labels, embeddings=te_e[te_idx])
    oos_model.save(datasets.cache_dir() / "intent-oos-model")
    results["oos"] = {"metrics": mo, "tune_intents": tune_oos, "test_intents": test_oos,
                      "prob_threshold": oos_model.prob_threshold, "sim_threshold": oos_model.sim_threshold,
                      "fit_seconds": oos_fit}
    rows.append([f"{77 - N_OOS_INTENTS} intents + OOS", mo["accuracy"], mo["macro_f1"], mo["ece"],
                 mo["oos_recall"], mo["oos_precision"], oos_fit + tr_es])
    print(f"oos: recall {mo['oos_recall']:.3f} precision {mo['oos_precision']:.3f} "
          f"in-scope flagged {mo['in_scope_flagged_oos']:.3f}", flush=True)
    results["oos"]["curve"] = oos_test_curve(oos_model, [te_x[i] for i in te_idx], labels, te_e[te_idx])

    # ---- few-shot
    tr_idx, va_idx = train_val_split(tr_y, val_fraction=0.15, seed=0, texts=tr_x)
    val = ([tr_x[i] for i in va_idx], [tr_y[i] for i in va_idx], tr_e[va_idx])
    by_class: dict[str, list[int]] = {}
    for i in tr_idx:
        by_class.setdefault(tr_y[i], []).append(i)
    shot_runs = []
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        idx = [int(j) for c in sorted(by_class) for j in rng.choice(by_class[c], shots, replace=False)]
        t0 = time.perf_counter()
        fm = IntentClassifier.train([tr_x[i] for i in idx], [tr_y[i] for i in idx],
                                    embeddings=tr_e[idx], seed=seed, validation=val)
        fs = time.perf_counter() - t0
        mf = fm.evaluate(te_x, te_y, embeddings=te_e)
        embed_share = tr_es * len(idx) / len(tr_x)
        shot_runs.append({"seed": seed, "accuracy": mf["accuracy"], "macro_f1": mf["macro_f1"],
                          "ece": mf["ece"], "params": fm.params, "fit_seconds": fs,
                          "train_seconds_incl_embedding": fs + embed_share})
        print(f"{shots}-shot seed {seed}: acc {mf['accuracy']:.4f} params {fm.params} ({fs:.0f}s)", flush=True)
    mean = {k: float(np.mean([r[k] for r in shot_runs]))
            for k in ("accuracy", "macro_f1", "ece", "train_seconds_incl_embedding")}
    results[f"{shots}_shot"] = {"runs": shot_runs, "mean": mean,
                                "std_accuracy": float(np.std([r["accuracy"] for r in shot_runs]))}
    rows.append([f"{shots}-shot (mean of {seeds})", mean["accuracy"], mean["macro_f1"], mean["ece"],
                 "-", "-", mean["train_seconds_incl_embedding"]])

    results["wall_seconds"] = time.perf_counter() - t_all
    if tr_cached or te_cached:
        results["wall_seconds_incl_embedding"] = results["wall_seconds"] + (tr_es if tr_cached else 0) + (
            te_es if te_cached else 0)
    else:
        results["wall_seconds_incl_embedding"] = results["wall_seconds"]
    header = ["model", "test acc", "macro-F1", "ECE", "OOS recall", "OOS prec", "train s (incl. emb)"]
    print()
    print(table(rows, header))
    print(f"\nend to end: {results['wall_seconds_incl_embedding']:.0f}s (this run {results['wall_seconds']:.0f}s)")
    results["table"] = {"header": header, "rows": rows}
    results["summary"] = {
        "device": "cpu", "full_accuracy": m["accuracy"], f"{shots}_shot_mean_accuracy": mean["accuracy"],
        "oos_budget": oos_model.info.get("oos_budget"),
        "in_scope_reject_default": mo["in_scope_flagged_oos"], "oos_recall_default": mo["oos_recall"],
        "oos_precision_default": mo["oos_precision"], "wall_s": results["wall_seconds_incl_embedding"],
        "load_average_1m": round(os.getloadavg()[0], 2),
        "targets": {"10_shot_mean_accuracy": 0.88, "full_accuracy": 0.942, "in_scope_reject_default": 0.03}}
    path = write_results("intent", results)
    print(f"wrote {path}")
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--no-cache", action="store_true", help="recompute embeddings")
    ap.add_argument("--shots", type=int, default=10)
    ap.add_argument("--seeds", type=int, default=5)
    a = ap.parse_args()
    run(use_cache=not a.no_cache, shots=a.shots, seeds=a.seeds)


if __name__ == "__main__":
    main()
