"""Knowledge-gap mining: what visitors keep asking that the bot could not answer.

Handed-off and unanswered questions are clustered by MiniLM cosine similarity
(average-linkage agglomerative clustering with a distance threshold: no cluster count
to guess, and one odd question cannot chain two topics together the way single linkage
would). Each gap can be turned into a draft article built *only* from sentences agents
actually wrote (extractive, never generated), redacted, and with the visitor-specific
ones (anything that still carried an order number, e-mail...) left out.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ml.learning.redact import PLACEHOLDERS, redact
from ml.text import split_sentences, tokenize

EncodeFn = Callable[[Sequence[str]], np.ndarray]
_MAX_AGGLOMERATIVE = 4000  # O(n^2) memory above this: fall back to leader clustering


def _default_encode(texts: Sequence[str]) -> np.ndarray:
    from ml.backends.embeddings import encode

    return encode(list(texts))


@dataclass
class GapCluster:
    id: int
    count: int
    representative: str
    examples: list[str]
    question_ids: list[Any] = field(default_factory=list)
    conversation_ids: list[Any] = field(default_factory=list)
    cohesion: float = 1.0  # mean cosine to the representative

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _as_question(q: Any) -> tuple[str, Any, Any]:
    if isinstance(q, Mapping):
        return str(q.get("text") or ""), q.get("id", q.get("message_id")), q.get("conversation_id")
    return str(q), None, None


def _labels_leader(vecs: np.ndarray, threshold: float) -> np.ndarray:
    """Greedy threshold clustering: join the most similar existing centroid, else start one."""
    labels = np.full(len(vecs), -1)
    cents: list[np.ndarray] = []
    sums: list[np.ndarray] = []
    for i, v in enumerate(vecs):
        if cents:
            sims = np.stack(cents) @ v
            j = int(np.argmax(sims))
            if sims[j] >= threshold:
                labels[i] = j
                sums[j] = sums[j] + v
                cents[j] = sums[j] / np.linalg.norm(sums[j])
                continue
        labels[i] = len(cents)
        cents.append(v.copy())
        sums.append(v.copy())
    return labels


def cluster_questions(questions: Sequence[str | Mapping[str, Any]], *, similarity: float = 0.6,
                      min_count: int = 2, max_examples: int = 5, embeddings: np.ndarray | None = None,
                      encode: EncodeFn | None = None) -> list[GapCluster]:
    """Group similar questions; clusters of at least ``min_count``, largest first.

    ``questions``: texts or dicts with ``text`` and optional ``id``/``conversation_id``.
    ``similarity``: average cosine similarity that keeps two groups apart (MiniLM
    paraphrases typically score 0.6–0.9, unrelated support questions under 0.4).
    """
    rows = [_as_question(q) for q in questions]
    keep = [i for i, r in enumerate(rows) if r[0].strip()]
    rows = [rows[i] for i in keep]
    if not rows:
        return []
    texts = [r[0] for r in rows]
    if embeddings is not None:
        vecs = np.asarray(embeddings, dtype=np.float32)[keep]
    else:
        vecs = (encode or _default_encode)(texts)
    vecs = vecs / np.clip(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-9, None)
    if len(rows) == 1:
        labels = np.zeros(1, dtype=int)
    elif len(rows) <= _MAX_AGGLOMERATIVE:
        from sklearn.cluster import AgglomerativeClustering

        labels = AgglomerativeClustering(n_clusters=None, metric="cosine", linkage="average",
                                         distance_threshold=1.0 - similarity).fit_predict(vecs)
    else:
        labels = _labels_leader(vecs, similarity)
    clusters: list[GapCluster] = []
    for lab in np.unique(labels):
        idx = np.flatnonzero(labels == lab)
        if len(idx) < min_count:
            continue
        sub = vecs[idx]
        sims = sub @ sub.T
        medoid = int(idx[int(np.argmax(sims.mean(axis=1)))])
        to_rep = vecs[idx] @ vecs[medoid]
        order = idx[np.argsort(-to_rep)]
        seen: set[str] = set()
        examples = []
        for i in order:  # most typical first, exact repeats once
            red = redact(texts[i])
            key = " ".join(tokenize(red, drop_stopwords=False))
            if key in seen:
                continue
            seen.add(key)
            examples.append(red)
            if len(examples) >= max_examples:
                break
        clusters.append(GapCluster(
            id=0, count=len(idx), representative=redact(texts[medoid]), examples=examples,
            question_ids=[rows[i][1] for i in idx if rows[i][1] is not None],
            conversation_ids=sorted({rows[i][2] for i in idx if rows[i][2] is not None}, key=str),
            cohesion=round(float(to_rep.mean()), 4)))
    clusters.sort(key=lambda c: (-c.count, -c.cohesion, c.representative))
    for i, c in enumerate(clusters, 1):
        c.id = i
    return clusters


# --- drafting ---------------------------------------------------------------------------------

_BOILERPLATE_RE = re.compile(
    r"^(hi|hello|hey|dear|good (morning|afternoon|evening))\b|thank(s| you)\b.{0,30}(contact|reach|wait|patien)"
    r"|\b(anything else|have a (nice|great|good) (day|one)|happy to help|glad (i|to) (could )?help|let me check"
    r"|one moment|bear with me|sorry for the (wait|delay))\b|^(thanks|thank you|cheers|regards|best)\b[.!]?$"
    r"|您好|你好|请稍等|还有其他|祝您", re.I)


def _title(text: str) -> str:
    t = " ".join(text.split()).strip()
    if not t:
        return "Untitled"
    t = t[0].upper() + t[1:]
    return t if len(t) <= 120 else t[:117].rstrip() + "..."


def draft_article(cluster: GapCluster | Mapping[str, Any], agent_answers: Sequence[str | Mapping[str, Any]], *,
                  max_sentences: int = 8, duplicate_similarity: float = 0.85,
                  encode: EncodeFn | None = None) -> dict[str, Any]:
    """Draft ``{title, body, sources, sentences}`` from agents' answers to a gap's questions.

    Every body sentence is an agent's sentence verbatim (after redaction): greetings and
    sign-offs are dropped, and so is any sentence that mentioned a customer-specific
    identifier. Sentences several agents said (near-duplicates) rank first; the draft
    is for an admin to edit, never published automatically.
    """
    rep = cluster.representative if isinstance(cluster, GapCluster) else str(cluster.get("representative", ""))
    cands: list[tuple[str, int, int, Any]] = []  # (sentence, answer index, position, source id)
    for ai, ans in enumerate(agent_answers):
        text = str(ans.get("text") or ans.get("answer") or "") if isinstance(ans, Mapping) else str(ans)
        src = ans.get("id") if isinstance(ans, Mapping) else None
        for pos, sent in enumerate(split_sentences(text)):
            red = redact(sent).strip()
            if red != sent.strip() and any(ph in red for ph in PLACEHOLDERS):
                continue  # customer-specific: "your order <ORDER> shipped"
            if len(tokenize(red)) < 2 or _BOILERPLATE_RE.search(red) or red.endswith("?"):
                continue
            cands.append((red, ai, pos, src))
    title = _title(rep)
    if not cands:
        return {"title": title, "body": "", "sources": [], "sentences": [],
                "empty_reason": "no reusable sentences in the agents' answers"}
    sents = [c[0] for c in cands]
    vecs = (encode or _default_encode)(sents + ([rep] if rep else []))
    vecs = vecs / np.clip(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-9, None)
    rep_vec = vecs[-1] if rep else None
    vecs = vecs[:len(sents)]
    sims = vecs @ vecs.T
    # Group near-duplicates; a group's support is how many distinct answers said it.
    group = list(range(len(sents)))
    for i in range(len(sents)):
        for j in range(i):
            if sims[i, j] >= duplicate_similarity and group[j] == j:
                group[i] = j
                break
    members: dict[int, list[int]] = {}
    for i, g in enumerate(group):
        members.setdefault(g, []).append(i)
    scored = []
    for g, idx in members.items():
        support = len({cands[i][1] for i in idx})
        relevance = float(vecs[g] @ rep_vec) if rep_vec is not None else 0.0
        best = max(idx, key=lambda i: (len(cands[i][0]), -i))  # the fullest wording
        scored.append((support, relevance, -cands[g][2], -cands[g][1], best, idx))
    scored.sort(key=lambda s: (-s[0], -s[1], -s[2], -s[3]))
    picked = scored[:max_sentences]
    lines = [cands[s[4]][0] for s in picked]
    sources = sorted({cands[i][3] for s in picked for i in s[5] if cands[i][3] is not None}, key=str)
    return {"title": title, "body": "\n\n".join(lines), "sources": sources,
            "sentences": [{"text": cands[s[4]][0], "support": s[0], "relevance": round(s[1], 4)} for s in picked]}
