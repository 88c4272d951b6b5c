"""The answering flow (DESIGN.md "The flow"), plain data in, plain data out.

question + history
  -> explicit human request?              -> handoff(visitor_request)
  -> standalone rewrite of follow-ups (last visitor turn + this one; heuristic, because a
     135M model rewrites worse than it answers)
  -> intent + sentiment + policy.decide   -> handoff/clarify with a reason code
  -> hybrid retrieval (the tenant's own index only)
  -> candidates: extractive (best sentences of the top chunks) + generated (LLM over the
     top chunks, sanitised evidence)
  -> score each: grounding (hard rules + support) / relevance to the question / retrieval
  -> best candidate with citations, or abstain -> clarify (first time) / handoff(no_answer)

Streaming behaviour ("hold and release"): generator tokens are buffered, never shown
while being produced. Only the candidate that passed grounding and won is sent through
``on_token`` (the generated candidate's own token pieces replayed, or the extractive text
in word pieces). Nothing shown to a visitor is ever retracted; the cost is that the first
visible token arrives after generation + scoring (see ``timings``).
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ml.answering.grounding import candidate_sentences, check_grounding, sanitize_evidence
from ml.answering.policy import ANSWER, CLARIFY, HANDOFF, Decision, decide, is_human_request, merged_policy
from ml.answering.prompting import build_messages
from ml.nlu.language import detect_language
from ml.text import split_sentences, tokenize

Turn = Mapping[str, Any]  # {"role": "user"|"assistant"|"agent", "content": str, "action"?: str}

TEXTS: dict[str, dict[str, str]] = {
    "en": {CLARIFY: "I'm not sure I have the right answer. Could you rephrase or add a few details?",
           HANDOFF: "Let me connect you with a member of our team who can help."},
    "zh": {CLARIFY: "抱歉，我不确定是否理解了您的问题，能否换个说法或补充一些细节？",
           HANDOFF: "我将为您转接人工客服，请稍候。"},
}
W_GROUNDING, W_RELEVANCE, W_RETRIEVAL = 0.35, 0.45, 0.20

_FOLLOWUP_RE = re.compile(
    r"^\s*(and|also|what about|how about|and if|but|so|then|what if|same for|or)\b"
    r"|\b(it|its|that|this|those|these|they|them|there|one|ones)\b"
    r"|^\s*(那|那么|还有|它|这个|那个)", re.I)


def rewrite_standalone(question: str, history: Sequence[Turn]) -> str:
    """Make a follow-up self-contained by prefixing the previous visitor question."""
    prev = [str(t.get("content", "")) for t in history if t.get("role") == "user"]
    prev = [p for p in prev if p.strip() and p.strip() != question.strip()]
    if not prev:
        return question
    toks = tokenize(question)
    if len(toks) <= 6 and _FOLLOWUP_RE.search(question):
        return f"{prev[-1].strip()} {question.strip()}"
    return question


def count_bot_turns(history: Sequence[Turn]) -> int:
    """Bot replies since the last human-agent message (a takeover resets the count)."""
    n = 0
    for t in reversed(history):
        if t.get("role") == "agent":
            break
        if t.get("role") == "assistant":
            n += 1
    return n


_sentiment_models: dict[int, Any] = {}


def _sentiment_model(encoder: Any) -> Any:
    from ml.nlu.sentiment import SentimentClassifier

    m = _sentiment_models.get(id(encoder))
    if m is None:
        m = _sentiment_models[id(encoder)] = SentimentClassifier(encoder)
    return m


def _reply(action: str, reason: str | None, lang: str, policy: Mapping[str, Any], **extra: Any) -> dict[str, Any]:
    texts = TEXTS.get(lang, TEXTS["en"])
    custom = (policy.get("texts") or {}).get(action) if isinstance(policy.get("texts"), Mapping) else None
    out: dict[str, Any] = {"action": action, "reason": reason, "text": custom or texts.get(action, ""),
                           "citations": [], "candidates": [], "sources": []}
    out.update(extra)
    return out


def answer_question(question: str, history: Sequence[Turn], *, index: Any, encoder: Any,
                    generator: Any | None, policy: Mapping[str, Any] | None,
                    intent_model: Any | None = None, sentiment_model: Any | None = None,
                    on_token: Callable[[str], None] | None = None,
                    bot_turns: int | None = None) -> dict[str, Any]:
    """Decide and (maybe) answer one visitor message. See module docstring for the flow.

    ``index``: ``ml.retrieval.HybridIndex`` of this tenant; ``encoder``: has ``encode``;
    ``generator``: ``ml.backends.generation.Generator`` or None (extractive only).
    Returns ``{"action", "reason", "text", "citations", "candidates", "sources", ...}``.
    """
    p = merged_policy(policy)
    timings: dict[str, float] = {}
    t_start = time.perf_counter()
    lang = detect_language(question).code
    turns = count_bot_turns(history) if bot_turns is None else bot_turns
    base: dict[str, Any] = {"language": lang, "timings": timings}

    # 1. explicit request: no model needed, never delayed.
    if is_human_request(question) and p["handoff_on_request"]:
        return _reply(HANDOFF, "visitor_request", lang, p, **base)

    # 2. standalone question, intent, sentiment, policy.
    standalone = rewrite_standalone(question, history)
    base["standalone_question"] = standalone
    t0 = time.perf_counter()
    q_vec = encoder.encode([standalone])[0]
    timings["embed_ms"] = (time.perf_counter() - t0) * 1000
    intent_pred = None
    if intent_model is not None:
        t0 = time.perf_counter()
        q_raw_vec = q_vec if standalone == question else encoder.encode([question])[0]
        intent_pred = intent_model.predict([question], embeddings=q_raw_vec[None, :])[0]
        timings["intent_ms"] = (time.perf_counter() - t0) * 1000
        base["intent"] = intent_pred.as_dict() if hasattr(intent_pred, "as_dict") else intent_pred
    t0 = time.perf_counter()
    smodel = sentiment_model or _sentiment_model(encoder)
    visitor_msgs = [t for t in history if t.get("role") == "user"][-4:]
    scores: list[float] = []
    todo = [str(t.get("content", "")) for t in visitor_msgs if "sentiment" not in t]
    computed = iter(s.score for s in smodel.predict(todo)) if todo else iter(())
    for t in visitor_msgs:
        scores.append(float(t["sentiment"]) if "sentiment" in t else next(computed))
    current = smodel.predict([question], embeddings=q_vec[None, :] if standalone == question else None)[0]
    scores.append(current.score)
    timings["sentiment_ms"] = (time.perf_counter() - t0) * 1000
    base["sentiment"] = {"label": current.label, "score": current.score, "scores": current.scores}
    decision: Decision = decide(p, intent=intent_pred, sentiments=scores, explicit_request=False,
                                bot_turns=turns)
    if decision.action != ANSWER:
        return _reply(decision.action, decision.reason, lang, p, decision=decision.detail, **base)

    # 3. retrieval (tenant's own index).
    t0 = time.perf_counter()
    hits = index.search(standalone, q_vec, k=int(p["top_k"]))
    timings["retrieval_ms"] = (time.perf_counter() - t0) * 1000
    sources = [{"chunk_id": h.chunk_id, "article_id": h.article_id, "title": h.title,
                "score": round(h.score, 4), "bm25": round(h.bm25, 4), "dense": round(h.dense, 4)}
               for h in hits]
    base["sources"] = sources
    last_was_clarify = any(t.get("role") == "assistant" and t.get("action") == CLARIFY
                           for t in list(history)[-2:])
    oos = bool(getattr(intent_pred, "out_of_scope", False))

    def abstain(reason: str, **extra: Any) -> dict[str, Any]:
        if reason == "no_answer" and oos:
            reason = "out_of_scope"
        action = HANDOFF if (p["no_answer_action"] == HANDOFF or last_was_clarify) else CLARIFY
        timings["total_ms"] = (time.perf_counter() - t_start) * 1000
        r = _reply(action, reason, lang, p, **base)
        r.update(extra)
        return r

    if not hits or hits[0].score < float(p["min_retrieval_score"]):
        return abstain("no_answer")

    # 4. candidates from sanitised evidence.
    evidence: list[dict[str, Any]] = []
    dropped_all: list[str] = []
    for h in hits[:3]:
        clean, dropped = sanitize_evidence(h.text)
        dropped_all.extend(dropped)
        if clean:
            evidence.append({"id": h.chunk_id, "article_id": h.article_id, "title": h.title,
                             "text": clean, "score": h.score})
    if dropped_all:
        base["evidence_dropped"] = dropped_all
    if not evidence:
        return abstain("no_answer")
    ev_sents: list[str] = []
    ev_owner: list[int] = []
    vec_parts: list[np.ndarray] = []
    t0 = time.perf_counter()
    for i, ev in enumerate(evidence):
        sents, vecs = _sentence_vectors(encoder, ev["text"])
        ev_sents.extend(sents)
        ev_owner.extend([i] * len(sents))
        vec_parts.append(vecs)
    ev_vecs = np.vstack(vec_parts) if ev_sents else np.zeros((0, len(q_vec)), np.float32)
    timings["evidence_embed_ms"] = (time.perf_counter() - t0) * 1000

    candidates: list[dict[str, Any]] = []
    for i, ev in enumerate(evidence[:2]):
        text = _extract(ev["text"], [s for s, o in zip(ev_sents, ev_owner, strict=False) if o == i],
                        ev_vecs[[j for j, o in enumerate(ev_owner) if o == i]], q_vec)
        if text:
            candidates.append({"kind": "extractive", "text": text, "evidence": [i],
                               "pieces": None})

    model_error: str | None = None
    if generator is not None and p.get("use_llm", True):
        msgs = build_messages(standalone, evidence[:2], policy=p)
        pieces: list[str] = []
        t0 = time.perf_counter()
        try:
            for piece in generator.stream(msgs, max_new_tokens=int(p["max_new_tokens"]), temperature=0.0):
                if not pieces:
                    timings["generation_first_token_ms"] = (time.perf_counter() - t0) * 1000
                pieces.append(piece)
        except Exception as exc:  # noqa: BLE001 - any backend failure becomes model_error
            model_error = f"{type(exc).__name__}: {exc}"[:300]
        timings["generation_ms"] = (time.perf_counter() - t0) * 1000
        timings["generation_pieces"] = float(len(pieces))
        gen_text = "".join(pieces).strip()
        if gen_text and model_error is None:
            candidates.append({"kind": "generated", "text": gen_text, "evidence": [0, 1][:len(evidence)],
                               "pieces": pieces})
    if model_error:
        base["model_error"] = model_error

    # 5. score.
    t0 = time.perf_counter()
    # One encoder call for all candidates and their sentences (latency: batching).
    cand_sents = [candidate_sentences(c["text"]) for c in candidates]
    flat = [c["text"] for c in candidates] + [s for ss in cand_sents for s in ss]
    flat_vecs = encoder.encode(flat) if flat else np.zeros((0, len(q_vec)), np.float32)
    cand_vecs = flat_vecs[:len(candidates)] if candidates else None
    offset = len(candidates)
    for ci, c in enumerate(candidates):
        ev_idx = c["evidence"]
        n_s = len(cand_sents[ci])
        g = check_grounding(c["text"], [evidence[i]["text"] for i in ev_idx], encoder=encoder,
                            evidence_sentences=[s for s, o in zip(ev_sents, ev_owner, strict=False) if o in ev_idx],
                            evidence_sentence_vecs=ev_vecs[[j for j, o in enumerate(ev_owner) if o in ev_idx]],
                            candidate_sentence_vecs=flat_vecs[offset:offset + n_s])
        offset += n_s
        relevance = float(max(0.0, float(cand_vecs[ci] @ q_vec))) if cand_vecs is not None else 0.0
        retrieval = max(float(evidence[i]["score"]) for i in ev_idx)
        total = 0.0 if g.disqualified else (W_GROUNDING * g.score + W_RELEVANCE * relevance
                                            + W_RETRIEVAL * retrieval)
        c.update(article_ids=[evidence[i]["article_id"] for i in ev_idx], grounding=g.score, grounded=g.grounded, disqualified=g.disqualified,
                 reasons=g.reasons, relevance=relevance, retrieval=retrieval, score=total,
                 sentences=g.sentences)
    timings["scoring_ms"] = (time.perf_counter() - t0) * 1000
    public = [{k: v for k, v in c.items() if k != "pieces"} for c in candidates]
    base["candidates"] = public
    ok = [c for c in candidates if not c["disqualified"] and c["grounded"]
          and c["score"] >= float(p["min_answer_score"])]
    if not ok:
        if model_error and not candidates:
            r = _reply(HANDOFF, "model_error", lang, p, **base)
            timings["total_ms"] = (time.perf_counter() - t_start) * 1000
            return r
        return abstain("no_answer")
    best = max(ok, key=lambda c: c["score"])

    # 6. release the winner (hold-and-release streaming).
    t0 = time.perf_counter()
    if on_token is not None:
        pieces_out = best["pieces"] or re.findall(r"\S+\s*", best["text"])
        for piece in pieces_out:
            if "first_token_ms" not in timings:
                timings["first_token_ms"] = (t0 - t_start) * 1000
            on_token(piece)
    cited = []
    seen: set[str] = set()
    for i in best["evidence"]:
        ev = evidence[i]
        if ev["article_id"] not in seen:
            seen.add(ev["article_id"])
            cited.append({"article_id": ev["article_id"], "title": ev["title"], "chunk_id": ev["id"]})
    timings["total_ms"] = (time.perf_counter() - t_start) * 1000
    out = _reply(ANSWER, None, lang, p, **base)
    out.update(text=best["text"] if best["pieces"] is None else "".join(best["pieces"]).strip(),
               citations=cited, answer_kind=best["kind"], answer_score=best["score"])
    return out


_SENT_CACHE: OrderedDict[tuple[int, str], tuple[list[str], np.ndarray]] = OrderedDict()
_SENT_CACHE_MAX = 4096
_sent_cache_lock = threading.Lock()


def _sentence_vectors(encoder: Any, text: str) -> tuple[list[str], np.ndarray]:
    """Sentences of a (sanitised) chunk and their embeddings, LRU-cached per encoder:
    popular articles are retrieved again and again, so this saves an encoder call."""
    key = (id(encoder), hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest())
    with _sent_cache_lock:
        hit = _SENT_CACHE.get(key)
        if hit is not None:
            _SENT_CACHE.move_to_end(key)
            return hit
    sents = split_sentences(text)
    vecs = encoder.encode(sents) if sents else np.zeros((0, 0), np.float32)
    with _sent_cache_lock:
        _SENT_CACHE[key] = (sents, vecs)
        while len(_SENT_CACHE) > _SENT_CACHE_MAX:
            _SENT_CACHE.popitem(last=False)
    return sents, vecs


def _extract(text: str, sents: list[str], vecs: np.ndarray, q_vec: np.ndarray, max_sentences: int = 3) -> str:
    """Best sentences of one chunk for the question, in their original order."""
    if not sents:
        return ""
    if len(sents) <= max_sentences and len(text) <= 500:
        return " ".join(sents)
    sims = vecs @ q_vec
    top = sorted(np.argsort(-sims)[:max_sentences].tolist())
    # Keep the best sentence and its neighbours if they are reasonably related.
    best = int(np.argmax(sims))
    keep = [i for i in top if i == best or sims[i] >= sims[best] - 0.15]
    return " ".join(sents[i] for i in keep)
