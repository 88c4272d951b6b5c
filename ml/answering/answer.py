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
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
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


@dataclass(frozen=True)
class AnswerSettings:
    """Every number the answer step uses. Each can be overridden by the tenant's AI policy
    under the same key (``AnswerSettings.from_policy``)."""

    top_k: int = 5                    # chunks retrieved
    evidence_chunks: int = 3          # of those, chunks whose sentences become evidence
    min_dense: float = 0.3            # a chunk further than this (cosine) is never evidence
    neighbour_gap: float = 0.12       # the next sentence joins the extractive answer within this gap
    min_support: float = 0.6          # every answer sentence needs this much support in the evidence
    min_relevance: float = 0.35       # the answer must be at least this close to the question
    min_sentence_sim: float = 0.42    # without an answerability model: closest evidence sentence needed
    sentence_lead_penalty: float = 0.01  # per position of a sentence in its chunk (near-ties: the lead)
    sentence_rank_penalty: float = 0.02  # per retrieval rank of the sentence's chunk
    llm_below_relevance: float = 0.6  # the LLM runs only when the extractive answer is less relevant
    llm_max_new_tokens: int = 80
    answerability_threshold: float | None = None  # None: the model's own (chosen on dev data)
    use_answerability: bool = True
    answerability_from_knowledge: bool = False  # fit from the tenant's articles (tenant_calibration)

    @classmethod
    def from_policy(cls, policy: dict[str, Any]) -> AnswerSettings:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in (policy or {}).items() if k in known and v is not None})


@dataclass
class AnswerOutcome:
    """What the answer step found: an answer with citations (already streamed when
    ``streamed``), or why there is none (``reason`` is a code the agent can act on)."""

    answered: bool
    why: str
    text: str = ""
    citations: list[dict[str, Any]] = field(default_factory=list)
    streamed: bool = False
    reason: str = ""
    features: dict[str, float] = field(default_factory=dict)


# --- grounding ------------------------------------------------------------------------------------


def numbers_in(text: str) -> set[str]:
    return {n.replace(",", "") for n in NUMBER_RE.findall(text)}


def unsupported_numbers(candidate: str, evidence: str) -> set[str]:
    """Numbers (prices, dates, percentages, counts) in the candidate absent from the evidence."""
    return numbers_in(candidate) - numbers_in(evidence)


def clean_evidence(text: str) -> tuple[str, list[str]]:
    """Drop sentences that instruct the assistant (prompt injection planted in knowledge):
    knowledge is untrusted data (``ml.answering.untrusted``)."""
    from ml.answering.untrusted import split_untrusted

    return split_untrusted(text)


def score_candidate(candidate: str, evidence_sentences: list[str], evidence_vecs: np.ndarray,
                    question_vec: np.ndarray, *, cfg: AnswerSettings | None = None,
                    check_relevance: bool = True, sentence_vecs: np.ndarray | None = None,
                    answer_vec: np.ndarray | None = None) -> dict[str, Any]:
    """Support of each candidate sentence in the evidence; numbers; relevance to the question
    (``check_relevance=False`` for a later sentence of an answer whose first one was relevant).
    ``sentence_vecs`` / ``answer_vec``: vectors the caller already has (an extractive answer's
    sentences are evidence sentences), saving encoder calls."""
    cfg = cfg or AnswerSettings()
    sentences = split_sentences(candidate) or [candidate]
    reasons: list[str] = []
    evidence_text = " ".join(evidence_sentences)
    missing_numbers = unsupported_numbers(candidate, evidence_text)
    if missing_numbers:
        reasons.append(f"numbers not in evidence: {sorted(missing_numbers)}")
    from ml.answering.grounding import hard_violations

    reasons += [r for r in hard_violations(candidate, evidence_text) if not r.startswith("unsupported_number")]
    from ml.answering.untrusted import is_instruction, unsupported_claims

    reasons += unsupported_claims(candidate, evidence_sentences)  # codes, amounts, prizes, commitments
    if INJECTION_RE.search(candidate) or any(is_instruction(s) for s in sentences):
        reasons.append("contains an instruction-like sentence")
    if not candidate.strip() or re.search(r"\b(i don't know|i do not know|not sure|cannot answer)\b", candidate, re.I):
        reasons.append("abstains")
    vecs = sentence_vecs if sentence_vecs is not None and len(sentence_vecs) == len(sentences) \
        else cached_encode(sentences)
    support_each = (vecs @ evidence_vecs.T).max(axis=1) if len(evidence_sentences) else np.zeros(len(sentences))
    ev_tokens = set(tokenize(evidence_text))
    lexical = [len(set(tokenize(s)) & ev_tokens) / max(1, len(set(tokenize(s)))) for s in sentences]
    support = [max(float(a), float(b)) for a, b in zip(support_each, lexical, strict=False)]
    weakest = min(support) if support else 0.0
    if weakest < cfg.min_support:
        reasons.append(f"a sentence is not supported by the evidence ({weakest:.2f})")
    if answer_vec is None:
        answer_vec = vecs[0] if len(sentences) == 1 else encode([candidate])[0]
    relevance = float(answer_vec @ question_vec)
    if check_relevance and relevance < cfg.min_relevance:
        reasons.append(f"not relevant to the question ({relevance:.2f})")
    return {"support": round(weakest, 4), "relevance": round(relevance, 4),
            "score": round(0.5 * weakest + 0.5 * relevance, 4), "passed": not reasons, "reasons": reasons}


# --- the answer step ------------------------------------------------------------------------------


@dataclass
class Evidence:
    """Sentences of the best chunks (instruction-like ones removed) and their vectors."""

    article_ids: list[str]
    sentences: list[str]
    vecs: np.ndarray
    positions: list[int]  # of each sentence within its chunk
    ranks: list[int]  # retrieval rank of each sentence's chunk


def _retrieve(state: TenantState, query: str, qvec: np.ndarray, language: str, filter_language: bool,
              cfg: AnswerSettings, explanation: dict[str, Any], timings: dict[str, float]
              ) -> tuple[list[Any], dict[str, str]]:
    """Hits for the query with the fusion weight of its language; when the tenant has
    articles in the visitor's language, only those."""
    from ml.retrieval import bm25_weight_for

    t = time.perf_counter()
    leaders: dict[str, str] = {}
    weight = bm25_weight_for(language)
    wide = cfg.top_k * 4 if filter_language else cfg.top_k
    hits = state.index.search(query, qvec, k=wide, bm25_weight=weight, leaders=leaders) \
        if state.index is not None else []
    if filter_language:
        hits = [h for h in hits if _article_language(state, h.article_id) == language]
    hits = hits[:cfg.top_k]
    timings["retrieval_ms"] = (time.perf_counter() - t) * 1000
    explanation["sources"] = [
        {"article_id": int(h.article_id), "title": h.title, "chunk_id": h.chunk_id, "score": round(h.score, 4),
         "dense": round(h.dense, 4), "bm25": round(h.bm25, 4)} for h in hits
    ]
    explanation["retrieval"] = {"bm25_weight": weight, "leaders": leaders, "language_filter": filter_language}
    return hits, leaders


def _article_language(state: TenantState, article_id: str) -> str:
    return str((state.articles.get(str(article_id)) or {}).get("language") or "en").split("-")[0].lower()


def _has_language(state: TenantState, language: str) -> bool:
    return any(_article_language(state, aid) == language for aid in state.articles)


def _evidence(hits: list[Any], explanation: dict[str, Any]) -> Evidence:
    article_ids: list[str] = []
    sentences: list[str] = []
    positions: list[int] = []
    ranks: list[int] = []
    dropped: list[str] = []
    for rank, h in enumerate(hits):
        body = h.text.split("\n\n", 1)[1] if h.text.startswith(h.title) and "\n\n" in h.text else h.text
        cleaned, bad = clean_evidence(body)
        dropped += bad
        for position, sentence in enumerate(split_sentences(cleaned)):
            article_ids.append(h.article_id)
            sentences.append(sentence)
            positions.append(position)
            ranks.append(rank)
    if dropped:
        explanation["ignored_instructions"] = dropped
    vecs = cached_encode(sentences) if sentences else np.zeros((0, 1), np.float32)
    return Evidence(article_ids, sentences, vecs, positions, ranks)


_SENTENCE_VECS: OrderedDict[str, np.ndarray] = OrderedDict()
_SENTENCE_VECS_MAX = 50_000
_sentence_lock = threading.Lock()


def cached_encode(sentences: list[str]) -> np.ndarray:
    """Sentence vectors, LRU-cached per process: the same articles are retrieved again and
    again, and re-encoding their sentences was most of a turn's time."""
    with _sentence_lock:
        missing = [s for s in dict.fromkeys(sentences) if s not in _SENTENCE_VECS]
    if missing:
        fresh = encode(missing)
        with _sentence_lock:
            _SENTENCE_VECS.update(zip(missing, fresh, strict=True))
            while len(_SENTENCE_VECS) > _SENTENCE_VECS_MAX:
                _SENTENCE_VECS.popitem(last=False)
    with _sentence_lock:
        out = []
        for s in sentences:
            vec = _SENTENCE_VECS.get(s)
            if vec is None:  # evicted meanwhile by another thread
                vec = encode([s])[0]
            else:
                _SENTENCE_VECS.move_to_end(s)
            out.append(vec)
    return np.vstack(out)


def sentence_scores(evidence: Evidence, query: str, qvec: np.ndarray, language: str,
                    cfg: AnswerSettings) -> np.ndarray:
    """How well each evidence sentence answers the query: dense cosine mixed with the share of
    the query's tokens it contains (with the language's BM25 weight: Chinese vectors barely
    differ, CJK bigrams do), minus a little per position in its chunk and per retrieval rank
    of its chunk, so near-ties go to the lead sentence of the best chunk."""
    from ml.retrieval import bm25_weight_for

    weight = bm25_weight_for(language, 0.1) or 0.0
    q_tokens = set(tokenize(query))
    lexical = np.array([len(q_tokens & set(tokenize(s))) / max(1, len(q_tokens)) for s in evidence.sentences])
    dense = evidence.vecs @ qvec
    scores: np.ndarray = ((dense + weight * lexical) / (1.0 + weight)
                          - cfg.sentence_lead_penalty * np.array(evidence.positions)
                          - cfg.sentence_rank_penalty * np.array(evidence.ranks))
    return scores


def _extractive(evidence: Evidence, query: str, qvec: np.ndarray, language: str,
                cfg: AnswerSettings) -> tuple[dict[str, Any], float]:
    """The best evidence sentence (plus its neighbour when it is relevant too), scored."""
    sims = sentence_scores(evidence, query, qvec, language, cfg)
    best = int(np.argmax(sims))
    picked = [best]
    if (best + 1 < len(evidence.sentences) and evidence.article_ids[best + 1] == evidence.article_ids[best]
            and sims[best + 1] >= sims[best] - cfg.neighbour_gap):
        picked.append(best + 1)
    text = " ".join(evidence.sentences[i] for i in picked)
    vecs = evidence.vecs[picked]
    mean = vecs.mean(axis=0)
    scored = score_candidate(text, evidence.sentences, evidence.vecs, qvec, cfg=cfg, sentence_vecs=vecs,
                             answer_vec=mean / max(float(np.linalg.norm(mean)), 1e-9))
    return {"kind": "extractive", "text": text, "article_ids": [evidence.article_ids[best]], **scored}, \
        float(sims[best])


def turn_features(*, hits: list[Any], leaders: dict[str, str], query: str, intent_confidence: float,
                  best_sentence_sim: float, extractive: dict[str, Any], language_match: bool) -> dict[str, float]:
    """The answerability features (``ml.answering.answerability.FEATURES``) of one turn."""
    top = hits[0]
    other = next((h for h in hits[1:] if h.article_id != top.article_id), None)
    q_tokens = set(tokenize(query))
    coverage = len(q_tokens & set(tokenize(f"{top.title}\n{top.text}"))) / max(1, len(q_tokens))
    return {"top_score": float(top.score), "top_dense": float(top.dense),
            "margin": float(top.score - other.score) if other is not None else float(top.score),
            "agreement": float(bool(leaders.get("bm25")) and leaders.get("bm25") == leaders.get("dense")),
            "coverage": float(coverage), "intent_confidence": float(intent_confidence or 0.0),
            "best_sentence_sim": float(best_sentence_sim), "support": float(extractive["support"]),
            "relevance": float(extractive["relevance"]), "passed": float(bool(extractive["passed"])),
            "language_match": float(language_match)}


def probe_features(state: TenantState, index: Any, query: str, qvec: np.ndarray, language: str,
                   cfg: AnswerSettings) -> tuple[dict[str, float], str] | None:
    """The answerability features of ``query`` against ``index`` and the article the
    extractive answer would cite, or None when nothing would reach the model (for fitting:
    ``ml.answering.tenant_calibration``). Nothing is sent or recorded."""
    from ml.retrieval import bm25_weight_for

    leaders: dict[str, str] = {}
    hits = index.search(query, qvec, k=cfg.top_k, bm25_weight=bm25_weight_for(language), leaders=leaders)
    good = [h for h in hits if h.dense >= cfg.min_dense][:cfg.evidence_chunks]
    if not good:
        return None
    evidence = _evidence(good, {})
    if not evidence.sentences:
        return None
    extractive, best_sim = _extractive(evidence, query, qvec, language, cfg)
    picked = str(extractive["article_ids"][0])
    features = turn_features(hits=hits, leaders=leaders, query=query, intent_confidence=0.0,
                             best_sentence_sim=best_sim, extractive=extractive,
                             language_match=_article_language(state, picked) == language.split("-")[0])
    return features, picked


def _answerable(state: TenantState, features: dict[str, float], cfg: AnswerSettings
                ) -> tuple[bool, str, float | None, str]:
    """(answer?, why not, probability). The calibrated model when there is one (the tenant's
    own when it opted in and has enough articles, else the shipped one); else the grounding
    rules and ``min_sentence_sim``."""
    from ml.answering.answerability import default_model

    model = None
    if cfg.use_answerability and cfg.answerability_from_knowledge:
        from ml.answering.tenant_calibration import model_for

        model = model_for(state)
    if model is None and cfg.use_answerability:
        model = default_model()
    if model is None:
        if features["best_sentence_sim"] < cfg.min_sentence_sim:
            return False, "No knowledge sentence is close enough to the question.", None, "rules"
        return True, "", None, "rules"
    p = model.probability(features)
    threshold = model.threshold if cfg.answerability_threshold is None else float(cfg.answerability_threshold)
    if p < threshold:
        return (False, f"The knowledge probably does not answer this (answerability {p:.2f} < {threshold:.2f}).",
                p, model.source)
    return True, "", p, model.source


def answer_turn(*, state: TenantState, query: str, qvec: np.ndarray, language: str, language_ok: bool,
                intent_confidence: float, explanation: dict[str, Any], timings: dict[str, float],
                on_token: Callable[[str], None] | None = None) -> AnswerOutcome:
    """Retrieve, build the extractive candidate, decide answer-or-abstain (calibrated),
    then send the extractive answer at once, or the LLM's answer sentence by sentence as
    each sentence passes the grounding checks. Fills ``explanation`` and ``timings``."""
    cfg = AnswerSettings.from_policy(state.policy)
    t_start = time.perf_counter()
    language = (language or "und").split("-")[0].lower()
    filter_language = language_ok and language != "und" and state.index is not None
    if filter_language and not _has_language(state, language):
        return AnswerOutcome(False, f"The knowledge base has no article in {language}.",
                             reason="no_knowledge_in_language")
    hits, leaders = _retrieve(state, query, qvec, language, filter_language, cfg, explanation, timings)
    good = [h for h in hits if h.dense >= cfg.min_dense][:cfg.evidence_chunks]
    if not good:
        return AnswerOutcome(False, "No knowledge article is close enough to the question.", reason="no_match")
    evidence = _evidence(good, explanation)
    if not evidence.sentences:
        return AnswerOutcome(False, "The matching knowledge has no usable sentences.", reason="no_match")
    extractive, best_sim = _extractive(evidence, query, qvec, language, cfg)
    candidates = [extractive]
    explanation["candidates"] = candidates
    features = turn_features(hits=hits, leaders=leaders, query=query, intent_confidence=intent_confidence,
                             best_sentence_sim=best_sim, extractive=extractive,
                             language_match=_article_language(state, extractive["article_ids"][0]) == language
                             or language == "und")
    ok, why_not, probability, model_source = _answerable(state, features, cfg)
    explanation["answerability"] = {"features": {k: round(v, 4) for k, v in features.items()},
                                    "probability": None if probability is None else round(probability, 4),
                                    "answer": ok, "model": model_source}
    timings["decide_ms"] = (time.perf_counter() - t_start) * 1000
    if not ok:
        return AnswerOutcome(False, why_not, reason="not_answerable", features=features)
    llm_can_win = (bool(state.policy.get("use_generator")) and language_ok
                   and (not extractive["passed"] or extractive["relevance"] < cfg.llm_below_relevance))
    if llm_can_win:
        outcome = _generated_answer(state, query, qvec, good, evidence, extractive, cfg, explanation, timings,
                                    on_token, t_start)
        if outcome is not None:
            outcome.features = features
            return outcome
    if not extractive["passed"]:
        return AnswerOutcome(False, "No candidate answer is both relevant and supported by the knowledge.",
                             reason="not_grounded", features=features)
    extractive["chosen"] = True
    _send(on_token, [extractive["text"]], timings, t_start)
    return AnswerOutcome(True, f"Extractive answer supported by the knowledge (score {extractive['score']}).",
                         extractive["text"], _citations(state, extractive["article_ids"]), streamed=on_token is not None,
                         features=features)


def _send(on_token: Callable[[str], None] | None, sentences: list[str], timings: dict[str, float],
          t_start: float, *, first: bool = True) -> None:
    if on_token is None:
        return
    for i, sentence in enumerate(sentences):
        if "first_visible_ms" not in timings:
            timings["first_visible_ms"] = (time.perf_counter() - t_start) * 1000
        on_token(sentence if first and i == 0 else " " + sentence)


def _citations(state: TenantState, article_ids: list[str]) -> list[dict[str, Any]]:
    citations = []
    for aid in article_ids:
        art = state.articles.get(str(aid))
        if art:
            citations.append({"article_id": art["id"], "title": art["title"], "url": art["url"]})
    return citations


def _generated_answer(state: TenantState, query: str, qvec: np.ndarray, good: list[Any], evidence: Evidence,
                      extractive: dict[str, Any], cfg: AnswerSettings, explanation: dict[str, Any],
                      timings: dict[str, float], on_token: Callable[[str], None] | None,
                      t_start: float) -> AnswerOutcome | None:
    """Stream the LLM's answer sentence by sentence, each released only once it passes the
    grounding checks; stop at the first sentence that does not. None: nothing released
    (the caller falls back to the extractive candidate or abstains)."""
    released: list[str] = []
    rejected: list[dict[str, Any]] = []

    def accept(sentence: str) -> bool:
        checked = score_candidate(sentence, evidence.sentences, evidence.vecs, qvec, cfg=cfg,
                                  check_relevance=not released)
        if not checked["passed"]:
            rejected.append({"sentence": sentence, **checked})
            return False
        _send(on_token, [sentence], timings, t_start, first=not released)
        released.append(sentence)
        return True

    error = generate(state.policy, query, [(a, s) for a, s in zip(evidence.article_ids, evidence.sentences,
                                                                    strict=False)],
                     timings, cfg=cfg, on_sentence=accept)
    candidate: dict[str, Any] = {"kind": "generated", "text": " ".join(released), "article_ids": [good[0].article_id],
                 "passed": bool(released), "rejected_sentences": rejected}
    explanation["candidates"].append(candidate)
    if error:
        explanation["generator_error"] = error
    if not released:
        return None
    candidate["chosen"] = True
    return AnswerOutcome(True, f"Generated answer, {len(released)} sentence(s) each supported by the knowledge.",
                         candidate["text"], _citations(state, [good[0].article_id]), streamed=on_token is not None)


_SENTENCE_END_RE = re.compile(r"(?<=[.!?])(\s+|$)|(?<=[。！？])(\s*)")


def generate(policy: dict[str, Any], query: str, evidence: list[tuple[str, str]], timings: dict[str, float], *,
             cfg: AnswerSettings, on_sentence: Callable[[str], bool]) -> str | None:
    """Run the generator over the evidence, handing each complete sentence to
    ``on_sentence``; stops when it returns False. Returns an error text or None."""
    from django.conf import settings

    from ml.backends.generation import GenerationError, get_generator

    kind = settings.KEFU_GENERATOR
    opts: dict[str, Any] = {}
    if kind == "openai":
        opts = {"base_url": settings.KEFU_GENERATOR_URL, "model": settings.KEFU_GENERATOR_MODEL or None,
                "timeout": float(settings.KEFU_GENERATOR_TIMEOUT_S)}
    messages = prompt_messages(policy, query, evidence)
    t = time.perf_counter()
    buffer = ""
    try:
        generator = get_generator(kind, **opts)
        timings["generator_load_ms"] = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        stream = generator.stream(messages, max_new_tokens=cfg.llm_max_new_tokens, temperature=0.0,
                                  deadline_s=float(settings.KEFU_GENERATOR_DEADLINE_S))
        try:
            for piece in stream:
                if "first_token_ms" not in timings:
                    timings["first_token_ms"] = (time.perf_counter() - t) * 1000
                buffer += piece
                *complete, buffer = _split_complete(buffer)
                if not all(on_sentence(s) for s in complete):
                    return None
            if buffer.strip():
                on_sentence(buffer.strip())
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()
            timings["generation_ms"] = (time.perf_counter() - t) * 1000
        return None
    except GenerationError as exc:
        logger.warning("generator failed: %s", exc)
        return str(exc)


def prompt_messages(policy: dict[str, Any], query: str, evidence: list[tuple[str, str]]) -> list[dict[str, str]]:
    """The generator's prompt: persona and guardrails, the evidence blocks, the question."""
    blocks = "\n".join(f"<evidence id=\"{a}\">{s}</evidence>" for a, s in evidence[:8])
    system = (f"{policy.get('persona', '')}\n{policy.get('guardrails', '')}\n"
              "Answer the customer's question in one or two short sentences using ONLY the evidence. "
              "Do not add numbers, dates, prices or promises that are not in the evidence. "
              "If the evidence does not answer the question, reply exactly: I don't know.")
    return [{"role": "system", "content": system},
            {"role": "user", "content": f"Evidence:\n{blocks}\n\nQuestion: {query}"}]


def _split_complete(text: str) -> list[str]:
    """[complete sentences..., rest]: a sentence is complete once its end mark is followed
    by whitespace (so "1.5" or "e.g." mid-stream is not cut)."""
    parts: list[str] = []
    start = 0
    for m in _SENTENCE_END_RE.finditer(text):
        if m.group(1) is not None and m.end() == len(text) and not m.group(1):
            break  # a Latin end mark at the very end: wait for the next piece ("1." of "1.5")
        parts.append(text[start:m.start()].strip())
        start = m.end()
    return [p for p in parts if p] + [text[start:]]
