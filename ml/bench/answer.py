"""Answering bench on the Bank FAQ set: ``python -m ml.bench.answer``.

Knowledge base = the deduplicated FAQ answers (one article each, no title, so the question
text never leaks into the index); queries = their questions. Reports:
- retrieval hit@1 / hit@5 / MRR for BM25, dense, score mix and RRF (fusion chosen on the
  "dev" half of the queries, all variants shown on both halves);
- the answer pipeline (extractive candidates, all queries of the sample): answered share,
  share of answers citing the right article, and on questions whose answer was removed
  from the KB: abstention rate (clarify or handoff); plus a threshold sweep;
- the same with the LLM candidate on a smaller sample;
- Banking77 intent accuracy and OOS recall on the held-out-intent split (model from
  ``ml.bench.intent`` when cached, else trained here through the same code);
- latency per stage, next to raw SmolLM2 generation measured in the same run, and the
  latency of one search on a 10,000-chunk index.
Data licence: research-only (see ../shared/data/faq/SOURCE.md); nothing is shipped.
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import time
from typing import Any

import numpy as np

from ml import datasets
from ml.answering.pipeline import answer_question
from ml.bench.common import embed_cached, table, write_results
from ml.retrieval import Chunk, HybridIndex


def _half(qid: str) -> str:
    return "dev" if int(hashlib.md5(qid.encode(), usedforsecurity=False).hexdigest(), 16) % 2 == 0 else "test"


def retrieval_metrics(index: HybridIndex, queries: list[str], qvecs: np.ndarray, gold: list[str],
                      **kw: Any) -> dict[str, float]:
    ranks = []
    for q, v, g in zip(queries, qvecs, gold, strict=False):
        hits = index.search(q, v, 10, **kw)
        ids = [h.article_id for h in hits]
        ranks.append(ids.index(g) + 1 if g in ids else 0)
    r = np.array(ranks)
    return {"hit@1": float((r == 1).mean()), "hit@5": float(((r >= 1) & (r <= 5)).mean()),
            "mrr@10": float(np.where(r > 0, 1.0 / np.maximum(r, 1), 0).mean()), "n": len(r)}


def _pct(xs: list[float], q: float) -> float:
    return float(np.percentile(xs, q)) if xs else float("nan")


def run(*, sample: int = 150, removed: int = 80, llm_sample: int = 12, seed: int = 0) -> dict[str, Any]:
    t_all = time.perf_counter()
    from ml.backends.embeddings import get_encoder

    enc = get_encoder()
    faqs = datasets.bank_faqs()
    ans_texts = [f["answer"] for f in faqs]
    ids = [f["id"] for f in faqs]
    queries = [f["questions"][0] for f in faqs if f["questions"]]
    gold = [f["id"] for f in faqs if f["questions"]]
    a_vec, a_s, _ = embed_cached("faq-answers", ans_texts)
    q_vec, q_s, _ = embed_cached("faq-questions", queries)
    print(f"FAQ: {len(faqs)} unique answers, {len(queries)} queries; embeddings {a_s:.0f}s + {q_s:.0f}s", flush=True)
    results: dict[str, Any] = {"n_articles": len(faqs), "n_queries": len(queries)}

    chunks = [Chunk(i, i, "", t) for i, t in zip(ids, ans_texts, strict=False)]
    # ---- retrieval variants
    variants = {"bm25": dict(fusion="mix", bm25_weight=1e6), "dense": dict(fusion="mix", bm25_weight=0.0),
                "mix w=0.2": dict(fusion="mix", bm25_weight=0.2), "mix w=0.3": dict(fusion="mix", bm25_weight=0.3),
                "mix w=0.5": dict(fusion="mix", bm25_weight=0.5), "rrf": dict(fusion="rrf")}
    halves = {h: [i for i, g in enumerate(gold) if _half(g + queries[i]) == h] for h in ("dev", "test")}
    ret_rows = []
    results["retrieval"] = {}
    for name, kw in variants.items():
        idx = HybridIndex.build(chunks, a_vec, **kw)  # type: ignore[arg-type]
        row: list[Any] = [name]
        for h, sel in halves.items():
            m = retrieval_metrics(idx, [queries[i] for i in sel], q_vec[sel], [gold[i] for i in sel])
            results["retrieval"].setdefault(name, {})[h] = m
            row += [m["hit@1"], m["hit@5"], m["mrr@10"]]
        ret_rows.append(row)
    best = max((n for n in variants if n not in ("bm25", "dense")),
               key=lambda n: results["retrieval"][n]["dev"]["mrr@10"])
    results["retrieval_chosen_on_dev"] = best
    print(table(ret_rows, ["retrieval", "dev hit@1", "dev hit@5", "dev MRR", "test hit@1", "test hit@5", "test MRR"]),
          flush=True)

    # ---- pipeline: covered vs removed answers (extractive, thresholds swept afterwards)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(queries))
    removed_idx = order[:removed].tolist()
    covered_idx = order[removed:removed + 2 * sample].tolist()
    removed_ids = {gold[i] for i in removed_idx}
    # Many answers are near-copies (same text for several products): removing one answer
    # but keeping its twin would not test abstention, so twins (cosine >= 0.92) go too.
    rem_pos = [ids.index(g) for g in removed_ids]
    twins = np.where((a_vec @ a_vec[rem_pos].T).max(axis=1) >= 0.92)[0]
    removed_ids |= {ids[j] for j in twins}
    covered_idx = [i for i in covered_idx if gold[i] not in removed_ids][:sample]
    results["removed_articles"] = len(removed_ids)
    keep = [j for j, i in enumerate(ids) if i not in removed_ids]
    full_index = HybridIndex.build(chunks, a_vec, **variants[best])  # type: ignore[arg-type]
    cut_index = HybridIndex.build([chunks[j] for j in keep], a_vec[keep], **variants[best])  # type: ignore[arg-type]
    sweep_policy = {"min_retrieval_score": 0.0, "min_answer_score": 0.0, "negative_streak": 0, "use_llm": False}

    def run_set(idxs: list[int], index: HybridIndex, generator: Any, policy: dict[str, Any]) -> list[dict[str, Any]]:
        out = []
        t_set = time.perf_counter()
        for n, i in enumerate(idxs):
            if n and n % 25 == 0:
                print(f"  {n}/{len(idxs)} ({(time.perf_counter() - t_set) / n:.2f}s each)", flush=True)
            r = answer_question(queries[i], [], index=index, encoder=enc, generator=generator, policy=policy,
                                on_token=lambda _t: None)
            ok = [c for c in r.get("candidates", []) if c["grounded"] and not c["disqualified"]]
            bestc = max(ok, key=lambda c: c["score"]) if ok else None
            out.append({"gold": gold[i], "action": r["action"], "reason": r["reason"],
                        "cited": [c["article_id"] for c in r["citations"]],
                        "best_score": bestc["score"] if bestc else 0.0,
                        "best_article": (bestc["article_ids"][0] if bestc else None),
                        "top_retrieval": r["sources"][0]["score"] if r.get("sources") else 0.0,
                        "best_relevance": bestc["relevance"] if bestc else 0.0,
                        "timings": r.get("timings", {}), "answer_kind": r.get("answer_kind"),
                        "candidates": [{k: c[k] for k in ("kind", "score", "grounded", "disqualified", "reasons")}
                                       for c in r.get("candidates", [])], "text": r["text"][:300]})
        return out

    t0 = time.perf_counter()
    cov = run_set(covered_idx, full_index, None, sweep_policy)
    rem = run_set(removed_idx, cut_index, None, sweep_policy)
    pipe_s = time.perf_counter() - t0
    from ml.answering.policy import DEFAULT_POLICY

    sweep_rows = []
    sweep = []
    for thr in (0.5, 0.6, 0.65, 0.7, 0.72, 0.75, 0.78, 0.8, 0.85):
        ans = [r for r in cov if r["best_score"] >= thr]
        right = [r for r in ans if r["best_article"] == r["gold"]]
        abst = [r for r in rem if r["best_score"] < thr]
        s = {"min_answer_score": thr, "answered_covered": len(ans) / len(cov),
             "right_article_of_answered": len(right) / max(1, len(ans)),
             "right_article_of_all": len(right) / len(cov), "abstain_removed": len(abst) / len(rem)}
        sweep.append(s)
        sweep_rows.append([thr, s["answered_covered"], s["right_article_of_answered"], s["right_article_of_all"],
                           s["abstain_removed"], "<- default" if abs(thr - DEFAULT_POLICY["min_answer_score"]) < 1e-9 else ""])
    results["answer_sweep_extractive"] = sweep
    results["per_question"] = {"covered": [{k: r[k] for k in ("gold", "best_score", "best_article", "top_retrieval",
                                                              "best_relevance")} for r in cov],
                               "removed": [{k: r[k] for k in ("gold", "best_score", "best_article", "top_retrieval",
                                                              "best_relevance")} for r in rem]}
    results["pipeline_seconds_extractive"] = pipe_s
    print(table(sweep_rows, ["min score", "answered (covered)", "right art. | answered", "right art. | all",
                             "abstained (removed)", ""]), flush=True)

    # ---- intent on Banking77 held-out split
    from ml.bench.intent import oos_split
    from ml.nlu.intent import IntentClassifier

    te_x, te_y = datasets.banking77("test")
    te_e, _, _ = embed_cached("b77-test", te_x)
    mdir = datasets.cache_dir() / "intent-oos-model"
    tune_oos, test_oos = oos_split(sorted(set(te_y)))
    if (mdir / "intent.json").exists():
        im = IntentClassifier.load(mdir, encoder=enc)
        src = "cached from ml.bench.intent"
    else:
        tr_x, tr_y = datasets.banking77("train")
        tr_e, _, _ = embed_cached("b77-train", tr_x)
        held = set(tune_oos) | set(test_oos)
        keep_i = [i for i, y in enumerate(tr_y) if y not in held]
        oos_i = [i for i, y in enumerate(tr_y) if y in tune_oos]
        im = IntentClassifier.train([tr_x[i] for i in keep_i], [tr_y[i] for i in keep_i], embeddings=tr_e[keep_i],
                                    params={"embedding_weight": 1.0, "C": 10.0, "knn_weight": 0.3},
                                    oos_texts=[tr_x[i] for i in oos_i], oos_embeddings=tr_e[oos_i], encoder=enc)
        src = "trained here"
    sel = [i for i, y in enumerate(te_y) if y not in tune_oos]
    im_m = im.evaluate([te_x[i] for i in sel], [te_y[i] if te_y[i] not in test_oos else None for i in sel],
                       embeddings=te_e[sel])
    intent_lat = []
    for t in te_x[:100]:
        t0 = time.perf_counter()
        im.predict([t])
        intent_lat.append((time.perf_counter() - t0) * 1000)
    results["intent"] = {"source": src, "accuracy": im_m["accuracy"], "macro_f1": im_m["macro_f1"],
                         "oos_recall": im_m["oos_recall"], "oos_precision": im_m["oos_precision"],
                         "latency_ms_p50": _pct(intent_lat, 50)}
    print(f"intent ({src}): acc {im_m['accuracy']:.4f} OOS recall {im_m['oos_recall']:.3f} "
          f"precision {im_m['oos_precision']:.3f}", flush=True)

    # ---- with the LLM candidate (sample) + raw generation
    from ml.backends.generation import get_generator

    t0 = time.perf_counter()
    gen = get_generator("local")
    gen_load = time.perf_counter() - t0
    llm_policy = dict(DEFAULT_POLICY, negative_streak=0)
    llm_cov = run_set(covered_idx[:llm_sample], full_index, gen, llm_policy)
    llm_rem = run_set(removed_idx[: max(5, llm_sample // 2)], cut_index, gen, llm_policy)
    answered = [r for r in llm_cov if r["action"] == "answer"]
    results["llm_pipeline"] = {
        "n_covered": len(llm_cov), "n_removed": len(llm_rem),
        "answered_covered": len(answered) / len(llm_cov),
        "right_article_of_answered": sum(r["gold"] in r["cited"] for r in answered) / max(1, len(answered)),
        "generated_chosen": sum(r["answer_kind"] == "generated" for r in answered) / max(1, len(answered)),
        "generated_disqualified": float(np.mean([any(c["kind"] == "generated" and c["disqualified"]
                                                     for c in r["candidates"]) for r in llm_cov])),
        "abstain_removed": sum(r["action"] != "answer" for r in llm_rem) / len(llm_rem),
        "examples": [{"q": queries[i], "text": r["text"], "action": r["action"], "kind": r["answer_kind"]}
                     for i, r in zip(covered_idx[:5], llm_cov[:5], strict=False)]}
    stage: dict[str, list[float]] = {}
    for r in llm_cov + llm_rem:
        for k, v in r["timings"].items():
            stage.setdefault(k, []).append(v)
    tok_rates = [r["timings"]["generation_pieces"] / (r["timings"]["generation_ms"] / 1000)
                 for r in llm_cov + llm_rem if r["timings"].get("generation_ms")]
    # raw model, same prompt shape as the pipeline (system + evidence + question)
    from ml.answering.prompting import build_messages

    raw = []
    for i in covered_idx[:5]:
        msgs = build_messages(queries[i], [{"id": gold[i], "title": "", "text": ans_texts[ids.index(gold[i])]}])
        t0 = time.perf_counter()
        first = None
        pieces = []
        for p in gen.stream(msgs, max_new_tokens=96):
            first = first or time.perf_counter() - t0
            pieces.append(p)
        total = time.perf_counter() - t0
        ntok = gen.count_tokens("".join(pieces)) if hasattr(gen, "count_tokens") else len(pieces)
        prompt_tok = len(gen.tokenizer.apply_chat_template(msgs, add_generation_prompt=True, return_dict=True)[
            "input_ids"]) if hasattr(gen, "tokenizer") else 0
        raw.append({"ttft_s": first or total, "tokens": ntok, "decode_tok_s": (ntok - 1) / max(1e-6, total - (first or 0)),
                    "prompt_tokens": prompt_tok})
    lat = {k: {"p50": _pct(v, 50), "p90": _pct(v, 90)} for k, v in stage.items()}
    results["latency_ms"] = lat
    results["raw_generation"] = {"load_s": gen_load, "runs": raw,
                                 "ttft_s_median": statistics.median(r["ttft_s"] for r in raw),
                                 "decode_tok_s_median": statistics.median(r["decode_tok_s"] for r in raw),
                                 "prompt_tokens_median": statistics.median(r["prompt_tokens"] for r in raw)}
    results["pipeline_generation_pieces_per_s_median"] = statistics.median(tok_rates) if tok_rates else None

    # ---- 10k-chunk index latency
    rng2 = np.random.default_rng(1)
    big_chunks = [Chunk(f"c{n}", f"a{n // 3}", "", ans_texts[n % len(ans_texts)]) for n in range(10_000)]
    big_vec = a_vec[np.arange(10_000) % len(ans_texts)] + rng2.normal(0, 0.01, (10_000, a_vec.shape[1])).astype(np.float32)
    big_vec /= np.linalg.norm(big_vec, axis=1, keepdims=True)
    t0 = time.perf_counter()
    big = HybridIndex.build(big_chunks, big_vec)
    build_s = time.perf_counter() - t0
    s_only, s_embed = [], []
    for q in queries[:200]:
        t0 = time.perf_counter()
        v = enc.encode([q])[0]
        t1 = time.perf_counter()
        big.search(q, v, 5)
        t2 = time.perf_counter()
        s_only.append((t2 - t1) * 1000)
        s_embed.append((t2 - t0) * 1000)
    results["index_10k"] = {"build_s": build_s, "search_ms_p50": _pct(s_only, 50), "search_ms_p99": _pct(s_only, 99),
                            "embed_plus_search_ms_p50": _pct(s_embed, 50), "embed_plus_search_ms_p99": _pct(s_embed, 99)}

    rows = [["retrieval (chosen on dev: " + best + ") test hit@1 / hit@5 / MRR",
             "{hit@1:.3f} / {hit@5:.3f} / {mrr@10:.3f}".format(**results["retrieval"][best]["test"])]]
    d = min(sweep, key=lambda s: abs(s["min_answer_score"] - DEFAULT_POLICY["min_answer_score"]))
    rows += [["extractive: answered covered / right article (of answered)",
              f"{d['answered_covered']:.3f} / {d['right_article_of_answered']:.3f} (min score {d['min_answer_score']})"],
             ["extractive: abstained when answer removed", f"{d['abstain_removed']:.3f}"]]
    lp = results["llm_pipeline"]
    rows += [[f"with LLM (n={lp['n_covered']}): answered / right article / generated chosen",
              f"{lp['answered_covered']:.3f} / {lp['right_article_of_answered']:.3f} / {lp['generated_chosen']:.3f}"],
             [f"with LLM: generated disqualified / abstained when removed (n={lp['n_removed']})",
              f"{lp['generated_disqualified']:.3f} / {lp['abstain_removed']:.3f}"],
             ["intent (Banking77 67 intents): accuracy / OOS recall / OOS precision",
              f"{results['intent']['accuracy']:.4f} / {results['intent']['oos_recall']:.3f} / "
              f"{results['intent']['oos_precision']:.3f}"],
             ["latency p50 ms: embed / intent (77-way, 1 msg) / sentiment / retrieval / evidence emb. / scoring",
              " / ".join(f"{v:.1f}" for v in (
                  lat.get("embed_ms", {}).get("p50", float("nan")), results["intent"]["latency_ms_p50"],
                  *(lat.get(k, {}).get("p50", float("nan"))
                    for k in ("sentiment_ms", "retrieval_ms", "evidence_embed_ms", "scoring_ms"))))],
             ["pipeline: generation first token / visitor first token (p50 ms)",
              f"{lat.get('generation_first_token_ms', {}).get('p50', float('nan')):.0f} / "
              f"{lat.get('first_token_ms', {}).get('p50', float('nan')):.0f}"],
             ["pipeline generation pieces/s (p50) vs raw model decode tok/s, raw TTFT s",
              f"{results['pipeline_generation_pieces_per_s_median'] or float('nan'):.1f} vs "
              f"{results['raw_generation']['decode_tok_s_median']:.1f}, {results['raw_generation']['ttft_s_median']:.2f}"],
             ["10k-chunk index: search p50/p99 ms; embed+search p50/p99 ms",
              "{search_ms_p50:.2f}/{search_ms_p99:.2f}; {embed_plus_search_ms_p50:.1f}/{embed_plus_search_ms_p99:.1f}".format(
                  **results["index_10k"])]]
    results["wall_seconds"] = time.perf_counter() - t_all
    print()
    print(table(rows, ["answer bench", "value"]))
    print(f"\nwall {results['wall_seconds']:.0f}s")
    results["table"] = rows
    path = write_results("answer", results)
    print(f"wrote {path}")
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sample", type=int, default=150, help="covered questions through the pipeline")
    ap.add_argument("--removed", type=int, default=80, help="questions whose answer is removed")
    ap.add_argument("--llm-sample", type=int, default=12, help="covered questions with the LLM candidate")
    a = ap.parse_args()
    run(sample=a.sample, removed=a.removed, llm_sample=a.llm_sample)


if __name__ == "__main__":
    main()
