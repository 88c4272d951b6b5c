"""Hybrid (BM25 + dense) retrieval over a tenant's knowledge-base chunks.

Pure numpy/scipy: importing this module never imports torch. Query embeddings are
passed in by the caller (``ml.backends.embeddings``) so the index itself stays cheap
to build, save and load in any process.

Fusion: measured on the Bank FAQ set (``python -m ml.bench.answer``, 1,280 queries over
1,447 answers), a normalised score mix (dense cosine + 0.2 x max-normalised BM25) beat
reciprocal-rank fusion (test MRR@10 0.586 vs 0.551; dense alone 0.576, BM25 alone 0.468);
both are available via ``fusion=``.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
from scipy import sparse

from ml.text import split_sentences, tokenize

Fusion = Literal["mix", "rrf"]


@dataclass(frozen=True)
class Chunk:
    """One retrievable piece of an article."""

    id: str
    article_id: str
    title: str
    text: str


@dataclass(frozen=True)
class Hit:
    """A search result with the fused score and both component scores."""

    chunk_id: str
    article_id: str
    score: float
    bm25: float
    dense: float
    title: str = ""
    text: str = ""

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


# --------------------------------------------------------------------------- chunking

_HEADING_RE = re.compile(r"^(#{1,6})\s+(.*\S)\s*$")


def _markdown_sections(text: str) -> list[tuple[list[str], list[str]]]:
    """(heading trail, paragraphs) per section; headings inside code fences are text."""
    sections: list[tuple[list[str], list[str]]] = []
    trail: list[tuple[int, str]] = []
    paras: list[str] = []
    buf: list[str] = []

    def flush_para() -> None:
        if buf:
            p = "\n".join(buf).strip()
            if p:
                paras.append(p)
            buf.clear()

    def flush_section() -> None:
        flush_para()
        if paras:
            sections.append(([t for _, t in trail], list(paras)))
            paras.clear()

    in_code = False
    for line in (text or "").splitlines():
        if line.strip().startswith("```"):
            in_code = not in_code
        m = None if in_code else _HEADING_RE.match(line)
        if m:
            flush_section()
            level = len(m.group(1))
            trail[:] = [(lv, t) for lv, t in trail if lv < level] + [(level, m.group(2))]
        elif not line.strip() and not in_code:
            flush_para()
        else:
            buf.append(line)
    flush_section()
    if not sections and trail:  # headings only
        sections.append(([t for _, t in trail], []))
    return sections


def _split_long_paragraph(p: str, budget: int) -> list[str]:
    """An over-long paragraph cut at sentence ends (a single giant sentence hard-wrapped)."""
    pieces: list[str] = []
    cur = ""
    for s in split_sentences(p) or [p]:
        while len(s) > budget:
            if cur:
                pieces.append(cur)
                cur = ""
            pieces.append(s[:budget])
            s = s[budget:]
        if cur and len(cur) + 1 + len(s) > budget:
            pieces.append(cur)
            cur = s
        else:
            cur = f"{cur} {s}".strip()
    if cur:
        pieces.append(cur)
    return pieces


def _pack(pieces: list[str], budget: int) -> list[str]:
    """Whole pieces packed into chunks of at most `budget` characters."""
    packed: list[str] = []
    cur = ""
    for p in pieces:
        if cur and len(cur) + 2 + len(p) > budget:
            packed.append(cur)
            cur = p
        else:
            cur = f"{cur}\n\n{p}" if cur else p
    if cur:
        packed.append(cur)
    return packed


def chunk_markdown(text: str, max_chars: int = 800) -> list[str]:
    """Split a Markdown article into chunks of at most ~``max_chars`` characters.

    Sections are cut at headings; within a section whole paragraphs are packed together,
    and an over-long paragraph is split at sentence ends. Each chunk starts with its
    heading trail ("Refunds > Cards") so it stays meaningful when retrieved alone.
    """
    max_chars = max(80, int(max_chars))
    chunks: list[str] = []
    for heads, ps in _markdown_sections(text):
        prefix = " > ".join(heads)
        budget = max(40, max_chars - len(prefix) - 2) if prefix else max_chars
        pieces: list[str] = []
        for p in ps:
            pieces.extend([p] if len(p) <= budget else _split_long_paragraph(p, budget))
        packed = _pack(pieces, budget)
        if not packed and prefix:
            packed = [""]
        for body in packed:
            chunks.append(f"{prefix}\n\n{body}".strip() if prefix else body)
    return [c for c in chunks if c.strip()]


def chunk_articles(articles: Iterable[dict[str, str]], max_chars: int = 800) -> list[Chunk]:
    """Chunks for articles given as ``{"id", "title", "body"}`` dicts; ids ``<article>#<n>``."""
    out: list[Chunk] = []
    for art in articles:
        aid = str(art["id"])
        title = str(art.get("title") or "")
        for n, text in enumerate(chunk_markdown(str(art.get("body") or ""), max_chars)):
            out.append(Chunk(id=f"{aid}#{n}", article_id=aid, title=title, text=text))
    return out


# --------------------------------------------------------------------------- BM25


class BM25:
    """Okapi BM25 with precomputed per-(doc, term) weights in a CSC matrix.

    Scoring a query is then one sparse column gather + sum: O(postings of query terms).
    """

    def __init__(self, docs: Sequence[Sequence[str]], *, k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.vocab: dict[str, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        tfs: list[float] = []
        lengths = np.zeros(len(docs), dtype=np.float32)
        for i, toks in enumerate(docs):
            lengths[i] = len(toks)
            for tok, tf in Counter(toks).items():
                j = self.vocab.setdefault(tok, len(self.vocab))
                rows.append(i)
                cols.append(j)
                tfs.append(tf)
        n, v = len(docs), len(self.vocab)
        tf_m = sparse.csr_matrix((np.asarray(tfs, np.float32), (rows, cols)), shape=(n, v))
        df = np.bincount(np.asarray(cols, dtype=np.int64), minlength=v).astype(np.float32)
        self.idf = np.log1p((n - df + 0.5) / (df + 0.5)).astype(np.float32)
        avgdl = float(lengths.mean()) if n else 1.0
        norm = k1 * (1 - b + b * lengths / max(avgdl, 1e-9))
        coo = tf_m.tocoo()
        w = coo.data * (k1 + 1) / (coo.data + norm[coo.row]) * self.idf[coo.col]
        self.weights = sparse.csc_matrix((w.astype(np.float32), (coo.row, coo.col)), shape=(n, v))
        self.n_docs = n

    @classmethod
    def from_state(cls, vocab: dict[str, int], idf: np.ndarray, weights: sparse.csc_matrix,
                   k1: float, b: float) -> BM25:
        obj = cls.__new__(cls)
        obj.vocab, obj.idf, obj.weights, obj.k1, obj.b = vocab, idf, weights.tocsc(), k1, b
        obj.n_docs = weights.shape[0]
        return obj

    def scores(self, query_tokens: Sequence[str]) -> np.ndarray:
        counts = Counter(t for t in query_tokens if t in self.vocab)
        if not counts:
            return np.zeros(self.n_docs, dtype=np.float32)
        ids = np.fromiter((self.vocab[t] for t in counts), dtype=np.int64, count=len(counts))
        q = np.fromiter(counts.values(), dtype=np.float32, count=len(counts))
        return np.asarray(self.weights[:, ids] @ q, dtype=np.float32).ravel()


# --------------------------------------------------------------------------- index


@dataclass
class HybridIndex:
    """BM25 + dense cosine over chunks, fused by normalised score mix or RRF.

    ``embeddings`` must be L2-normalised rows aligned with ``chunks`` (as produced by
    ``ml.backends.embeddings.encode``). One index per tenant: tenants never share one.
    """

    chunks: list[Chunk]
    embeddings: np.ndarray
    fusion: Fusion = "mix"
    bm25_weight: float = 0.2  # chosen on the FAQ dev half (ml.bench.answer)
    rrf_k: int = 60
    bm25: BM25 = field(init=False, repr=False)

    def __post_init__(self) -> None:
        emb = np.asarray(self.embeddings, dtype=np.float32)
        if emb.ndim != 2 or emb.shape[0] != len(self.chunks):
            raise ValueError(f"embeddings shape {emb.shape} does not match {len(self.chunks)} chunks")
        self.embeddings = np.ascontiguousarray(emb)
        if not hasattr(self, "bm25"):
            self.bm25 = BM25([tokenize(f"{c.title}\n{c.text}") for c in self.chunks])

    @classmethod
    def build(cls, chunks: Sequence[Chunk | dict[str, str]], embeddings: np.ndarray,
              **kw: object) -> HybridIndex:
        """Build from Chunk objects or dicts with id/article_id/title/text."""
        cs = [c if isinstance(c, Chunk) else Chunk(id=str(c["id"]), article_id=str(c["article_id"]),
                                                   title=str(c.get("title", "")), text=str(c["text"]))
              for c in chunks]
        return cls(chunks=cs, embeddings=embeddings, **kw)  # type: ignore[arg-type]

    def __len__(self) -> int:
        return len(self.chunks)

    def search(self, query: str, query_vec: np.ndarray | None, k: int = 5, *,
               fusion: Fusion | None = None, candidates: int = 100, bm25_weight: float | None = None,
               leaders: dict[str, str] | None = None) -> list[Hit]:
        """Top-``k`` chunks for ``query``; ``query_vec=None`` means BM25 only.

        ``bm25_weight`` overrides the index's mix weight for this query (per-language
        fusion, see ``bm25_weight_for``); ``leaders``, when given, receives the article
        each component alone ranks first ("bm25", "dense") so callers can tell whether
        the two agree.
        """
        n = len(self.chunks)
        if n == 0 or k <= 0:
            return []
        bm = self.bm25.scores(tokenize(query))
        if query_vec is not None:
            qv = np.asarray(query_vec, dtype=np.float32).ravel()
            dense = self.embeddings @ qv
        else:
            dense = np.zeros(n, dtype=np.float32)
        if leaders is not None:
            leaders["bm25"] = self.chunks[int(np.argmax(bm))].article_id if float(bm.max()) > 0 else ""
            leaders["dense"] = self.chunks[int(np.argmax(dense))].article_id if query_vec is not None else ""
        weight = self.bm25_weight if bm25_weight is None else float(bm25_weight)
        fusion = fusion or self.fusion
        if fusion == "rrf":
            fused = np.zeros(n, dtype=np.float32)
            for comp in ((bm,) if query_vec is None else (bm, dense)):
                top = _top(comp, min(candidates, n))
                if comp is bm:
                    top = top[comp[top] > 0]
                fused[top] += 1.0 / (self.rrf_k + 1 + np.arange(len(top), dtype=np.float32))
        else:
            bmax = float(bm.max())
            bnorm = bm / bmax if bmax > 0 else bm
            fused = ((dense + weight * bnorm) / (1.0 + weight)).astype(np.float32)
        top = _top(fused, min(k, n))
        return [Hit(chunk_id=self.chunks[i].id, article_id=self.chunks[i].article_id,
                    score=float(fused[i]), bm25=float(bm[i]), dense=float(dense[i]),
                    title=self.chunks[i].title, text=self.chunks[i].text) for i in top]

    # ----- persistence (npz + json; no pickle)
    def save(self, directory: str | Path) -> None:
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        w = self.bm25.weights.tocsc()
        np.savez_compressed(d / "index.npz", embeddings=self.embeddings, idf=self.bm25.idf,
                            w_data=w.data, w_indices=w.indices, w_indptr=w.indptr,
                            w_shape=np.asarray(w.shape))
        meta = {"chunks": [asdict(c) for c in self.chunks], "vocab": self.bm25.vocab,
                "k1": self.bm25.k1, "b": self.bm25.b, "fusion": self.fusion,
                "bm25_weight": self.bm25_weight, "rrf_k": self.rrf_k, "version": 1}
        (d / "index.json").write_text(json.dumps(meta, ensure_ascii=False))

    @classmethod
    def load(cls, directory: str | Path) -> HybridIndex:
        d = Path(directory)
        meta = json.loads((d / "index.json").read_text())
        arr = np.load(d / "index.npz", allow_pickle=False)
        w = sparse.csc_matrix((arr["w_data"], arr["w_indices"], arr["w_indptr"]),
                              shape=tuple(int(x) for x in arr["w_shape"]))
        obj = cls.__new__(cls)
        obj.chunks = [Chunk(**c) for c in meta["chunks"]]
        obj.embeddings = arr["embeddings"]
        obj.fusion, obj.bm25_weight, obj.rrf_k = meta["fusion"], meta["bm25_weight"], meta["rrf_k"]
        obj.bm25 = BM25.from_state(meta["vocab"], arr["idf"], w, meta["k1"], meta["b"])
        obj.__post_init__()
        return obj


# BM25 weight in the score mix per query language, chosen on data by ``ml.bench.answer``
# (per-language retrieval table). MiniLM has almost no Chinese vocabulary: Chinese
# sentences get near-identical vectors, so for Chinese the CJK-bigram BM25 must lead.
LANGUAGE_BM25_WEIGHTS: dict[str, float] = {"en": 0.1, "zh": 20.0}


def bm25_weight_for(language: str | None, default: float | None = None) -> float | None:
    """The mix weight for a query in ``language`` (``default`` for languages not measured)."""
    return LANGUAGE_BM25_WEIGHTS.get((language or "").split("-")[0].lower(), default)


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k largest scores, best first (argpartition: O(n))."""
    if k >= len(scores):
        return np.argsort(-scores, kind="stable")
    part = np.argpartition(-scores, k - 1)[:k]
    return part[np.argsort(-scores[part], kind="stable")]



__all__ = ["BM25", "LANGUAGE_BM25_WEIGHTS", "Chunk", "Hit", "HybridIndex", "bm25_weight_for", "chunk_articles",
           "chunk_markdown"]
