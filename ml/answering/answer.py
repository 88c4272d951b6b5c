"""The answer step of a bot turn: retrieval -> evidence -> candidates -> grounding -> pick.

The agent (``ml.agent``) decides *whether* the bot should answer from knowledge at all
(actions, handoffs, clarify); this module decides *what* the answer is, or that no
candidate is good enough. It returns an :class:`AnswerOutcome`; the agent turns a
non-answer into clarify / handoff.

No answer is given unless a candidate is supported by the tenant's evidence sentence by
sentence, with every number in it present in the evidence.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ml.serving import TenantState, encode
from ml.text import split_sentences, tokenize

logger = logging.getLogger(__name__)

# Sentences in the knowledge that address the assistant rather than the customer.
INJECTION_RE = re.compile(
    r"\b(ignore|disregard|forget|override)\b.{0,40}\b(rules?|instructions?|guidelines?|polic(y|ies)|prompt)\b"
    r"|\byou are now\b|\bsystem prompt\b|\bas an ai\b|\b(assistant|bot|chatbot|ai)\s*(should|must|shall)\b",
    re.I,
)
NUMBER_RE = re.compile(r"\d+(?:[.,]\d+)*")


@dataclass
class AnswerOutcome:
    """What the answer step found: an answer with citations, or why there is none."""

    answered: bool
    why: str
    text: str = ""
    citations: list[dict[str, Any]] = field(default_factory=list)


# --- grounding ------------------------------------------------------------------------------------


def numbers_in(text: str) -> set[str]:
    return {n.replace(",", "") for n in NUMBER_RE.findall(text)}


def unsupported_numbers(candidate: str, evidence: str) -> set[str]:
    """Numbers (prices, dates, percentages, counts) in the candidate absent from the evidence."""
    return numbers_in(candidate) - numbers_in(evidence)


def clean_evidence(text: str) -> tuple[str, list[str]]:
    """Drop sentences that instruct the assistant (prompt injection planted in knowledge)."""
    from ml.answering.grounding import sanitize_evidence

    text, dropped = sanitize_evidence(text)
    kept: list[str] = []
    for sentence in split_sentences(text):
        (dropped if INJECTION_RE.search(sentence) else kept).append(sentence)
    return " ".join(kept), dropped


def score_candidate(candidate: str, evidence_sentences: list[str], evidence_vecs: np.ndarray,
                    question_vec: np.ndarray) -> dict[str, Any]:
    """Support of each candidate sentence in the evidence; numbers; relevance to the question."""
    sentences = split_sentences(candidate) or [candidate]
    reasons: list[str] = []
    evidence_text = " ".join(evidence_sentences)
    missing_numbers = unsupported_numbers(candidate, evidence_text)
    if missing_numbers:
        reasons.append(f"numbers not in evidence: {sorted(missing_numbers)}")
    from ml.answering.grounding import hard_violations

    reasons += [r for r in hard_violations(candidate, evidence_text) if not r.startswith("unsupported_number")]
    if INJECTION_RE.search(candidate):
        reasons.append("contains an instruction-like sentence")
    if not candidate.strip() or re.search(r"\b(i don't know|i do not know|not sure|cannot answer)\b", candidate, re.I):
        reasons.append("abstains")
    vecs = encode(sentences)
    support_each = (vecs @ evidence_vecs.T).max(axis=1) if len(evidence_sentences) else np.zeros(len(sentences))
    ev_tokens = set(tokenize(evidence_text))
    lexical = [len(set(tokenize(s)) & ev_tokens) / max(1, len(set(tokenize(s)))) for s in sentences]
    support = [max(float(a), float(b)) for a, b in zip(support_each, lexical, strict=False)]
    weakest = min(support) if support else 0.0
    if weakest < 0.6:
        reasons.append(f"a sentence is not supported by the evidence ({weakest:.2f})")
    answer_vec = encode([candidate])[0]
    relevance = float(answer_vec @ question_vec)
    if relevance < 0.35:
        reasons.append(f"not relevant to the question ({relevance:.2f})")
    return {"support": round(weakest, 4), "relevance": round(relevance, 4),
            "score": round(0.5 * weakest + 0.5 * relevance, 4), "passed": not reasons, "reasons": reasons}


# --- the answer step ------------------------------------------------------------------------------


def answer_turn(*, state: TenantState, query: str, qvec: np.ndarray, language_ok: bool,
                explanation: dict[str, Any], timings: dict[str, float]) -> AnswerOutcome:
    """Retrieve, build candidates (extractive and, when allowed, generated), keep the best
    grounded one. Fills ``explanation`` (sources, candidates) and ``timings`` as it goes."""
    policy = state.policy
    t = time.perf_counter()
    hits = state.index.search(query, qvec, k=5) if state.index is not None else []
    timings["retrieval_ms"] = (time.perf_counter() - t) * 1000
    explanation["sources"] = [
        {"article_id": int(h.article_id), "title": h.title, "chunk_id": h.chunk_id, "score": round(h.score, 4),
         "dense": round(h.dense, 4), "bm25": round(h.bm25, 4)} for h in hits
    ]
    good = [h for h in hits if h.dense >= 0.3][:3]
    if not good:
        return AnswerOutcome(False, "No knowledge article is close enough to the question.")

    # Evidence: sentences of the best chunks, without instruction-like sentences.
    evidence: list[tuple[str, str]] = []  # (article_id, sentence)
    dropped: list[str] = []
    for h in good:
        body = h.text.split("\n\n", 1)[1] if h.text.startswith(h.title) and "\n\n" in h.text else h.text
        cleaned, bad = clean_evidence(body)
        dropped += bad
        evidence += [(h.article_id, s) for s in split_sentences(cleaned)]
    if dropped:
        explanation["ignored_instructions"] = dropped
    if not evidence:
        return AnswerOutcome(False, "The matching knowledge has no usable sentences.")
    ev_sentences = [s for _a, s in evidence]
    ev_vecs = encode(ev_sentences)
    sims = ev_vecs @ qvec

    candidates: list[dict[str, Any]] = []
    # Extractive candidate: the best sentence, plus its neighbour when it is relevant too.
    best = int(np.argmax(sims))
    picked = [best]
    if best + 1 < len(evidence) and evidence[best + 1][0] == evidence[best][0] and sims[best + 1] >= sims[best] - 0.12:
        picked.append(best + 1)
    extractive = " ".join(ev_sentences[i] for i in picked)
    candidates.append({"kind": "extractive", "text": extractive, "article_ids": [evidence[best][0]],
                       **score_candidate(extractive, ev_sentences, ev_vecs, qvec)})
    if float(sims[best]) < 0.42:  # no evidence sentence is close to the question: do not spend the LLM
        explanation["candidates"] = candidates
        return AnswerOutcome(False, "No knowledge sentence is close enough to the question.")
    # Generated candidate (LLM over the same evidence), only in a language the model handles.
    if policy["use_generator"] and language_ok:
        generated = generate(policy, query, good, evidence, timings)
        if generated is not None:
            gen_text, gen_error = generated
            if gen_error:
                explanation["generator_error"] = gen_error
            elif gen_text:
                candidates.append({"kind": "generated", "text": gen_text,
                                   "article_ids": sorted({a for a, _s in evidence}),
                                   **score_candidate(gen_text, ev_sentences, ev_vecs, qvec)})
    explanation["candidates"] = candidates
    passing = [c for c in candidates if c["passed"]]
    if not passing:
        return AnswerOutcome(False, "No candidate answer is both relevant and supported by the knowledge.")
    chosen = max(passing, key=lambda c: c["score"] + (0.02 if c["kind"] == "generated" else 0.0))
    chosen["chosen"] = True
    article_ids = chosen["article_ids"] if chosen["kind"] == "extractive" else [good[0].article_id]
    citations = []
    for aid in article_ids:
        art = state.articles.get(str(aid))
        if art:
            citations.append({"article_id": art["id"], "title": art["title"], "url": art["url"]})
    return AnswerOutcome(True, f"{chosen['kind'].capitalize()} answer supported by the knowledge "
                               f"(score {chosen['score']}).", chosen["text"], citations)


def generate(policy: dict[str, Any], query: str, hits: list[Any], evidence: list[tuple[str, str]],
             timings: dict[str, float]) -> tuple[str, str | None] | None:
    from django.conf import settings

    from ml.backends.generation import GenerationError, get_generator

    kind = settings.KEFU_GENERATOR
    opts: dict[str, Any] = {}
    if kind == "openai":
        opts = {"base_url": settings.KEFU_GENERATOR_URL, "model": settings.KEFU_GENERATOR_MODEL or None,
                "timeout": float(settings.KEFU_GENERATOR_TIMEOUT_S)}
    blocks = "\n".join(f"<evidence id=\"{a}\">{s}</evidence>" for a, s in evidence[:8])
    system = (f"{policy['persona']}\n{policy['guardrails']}\n"
              "Answer the customer's question in one or two short sentences using ONLY the evidence. "
              "Do not add numbers, dates, prices or promises that are not in the evidence. "
              "If the evidence does not answer the question, reply exactly: I don't know.")
    messages = [{"role": "system", "content": system},
                {"role": "user", "content": f"Evidence:\n{blocks}\n\nQuestion: {query}"}]
    t = time.perf_counter()
    try:
        generator = get_generator(kind, **opts)
        timings["generator_load_ms"] = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        pieces: list[str] = []
        first: float | None = None
        for piece in generator.stream(messages, max_new_tokens=80, temperature=0.0):
            if first is None:
                first = time.perf_counter()
                timings["first_token_ms"] = (first - t) * 1000
            pieces.append(piece)
        timings["generation_ms"] = (time.perf_counter() - t) * 1000
        return "".join(pieces).strip(), None
    except GenerationError as exc:
        logger.warning("generator failed: %s", exc)
        return "", str(exc)
