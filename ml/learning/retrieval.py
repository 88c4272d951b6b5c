"""Per-tenant retrieval model learned from confirmed question -> article pairs (issue 12).

The model is an *adapter*: a d x d matrix applied to the frozen MiniLM vectors (then
L2-normalised) before the hybrid index scores them — the query vector, and (``symmetric``,
the default: it measured better) the stored article vectors, mapped once when serving
loads the version. Nothing is re-embedded, a new version is picked up by swapping one
small matrix, and serving without a model (or rolling back to the version before) uses
the untouched index: the frozen encoder's exact rankings.

Training is contrastive with the tenant's whole index as negatives (a full softmax over
chunks: the frozen article vectors make every chunk an affordable negative, a superset of
in-batch negatives), in plain torch on CPU or CUDA, regularised towards the identity and
early-stopped on a held-out slice of the training pairs. Measured on the Bank FAQ set
(``make bench-retrieval``) this beat the frozen encoder well within the CPU budget, where
fine-tuning the whole encoder on a loaded 2-core machine could not finish in time.

Pure numpy/torch: no Django here. ``ml.retrieval_training`` is the Django side.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ml.learning.model import Cancelled
from ml.retrieval import HybridIndex, bm25_weight_for

Progress = Callable[[str, int, int, float | None], None]
EncodeFn = Callable[[list[str]], np.ndarray]
ARTIFACT_FILE = "adapter.npz"
MANIFEST_FILE = "retrieval.json"


@dataclass(frozen=True)
class RetrievalPair:
    """A visitor question confirmed to be answered by an article (ids as strings)."""

    question: str
    article_id: str
    source: str = "confirmed"
    language: str = "en"

    @classmethod
    def coerce(cls, value: RetrievalPair | Mapping[str, Any]) -> RetrievalPair:
        if isinstance(value, RetrievalPair):
            return value
        return cls(question=str(value["question"]), article_id=str(value["article_id"]),
                   source=str(value.get("source") or "confirmed"), language=str(value.get("language") or "en"))


@dataclass(frozen=True)
class AdapterParams:
    epochs: int = 20
    lr: float = 1e-3
    batch: int = 64
    scale: float = 20.0          # softmax temperature on cosine scores
    identity_weight: float = 10.0  # pull towards the identity (the frozen encoder); 10 beat 1 on the FAQ set
    symmetric: bool = True       # the map applies to article vectors too (measured better on the FAQ set)
    patience: int = 8            # epochs without a better early-stop score
    seed: int = 0


@dataclass(frozen=True)
class RetrievalGatePolicy:
    min_hit1_gain: float = 0.0            # strictly better hit@1 on the held-out pairs
    max_language_hit1_drop: float = 0.0   # no language may lose hit@1
    min_validation_pairs: int = 4

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> RetrievalGatePolicy:
        return cls(**{k: v for k, v in (d or {}).items() if k in cls.__dataclass_fields__})


# --------------------------------------------------------------------------- the model


@dataclass
class QueryAdapter:
    """v -> normalise(v @ matrix) for query vectors, and for article vectors too when
    ``symmetric``. ``metrics`` travel with the artifact."""

    matrix: np.ndarray
    metrics: dict[str, Any] = field(default_factory=dict)
    symmetric: bool = False
    # Multiplies the BM25 weight of the query's language in the score mix (the learned
    # vectors carry more of the signal than the frozen ones the weights were chosen for).
    bm25_factor: float = 1.0

    def transform(self, vecs: np.ndarray) -> np.ndarray:
        v = np.asarray(vecs, dtype=np.float32)
        single = v.ndim == 1
        out = np.atleast_2d(v) @ self.matrix
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        result: np.ndarray = out[0] if single else out
        return result

    def save(self, directory: str | Path) -> Path:
        """Written to ``<dir>.partial`` and renamed: a killed worker never leaves a
        loadable half-model, and the serving version's folder is never touched."""
        final = Path(directory)
        partial = final.with_name(final.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        np.savez(partial / ARTIFACT_FILE, matrix=self.matrix.astype(np.float32))
        (partial / MANIFEST_FILE).write_text(json.dumps({"kind": "query_adapter", "dim": int(self.matrix.shape[0]),
                                                         "symmetric": self.symmetric, "bm25_factor": self.bm25_factor,
                                                         "metrics": self.metrics},
                                                        default=float))
        shutil.rmtree(final, ignore_errors=True)
        os.replace(partial, final)
        return final

    @classmethod
    def load(cls, directory: str | Path) -> QueryAdapter:
        d = Path(directory)
        meta = json.loads((d / MANIFEST_FILE).read_text())
        matrix = np.load(d / ARTIFACT_FILE, allow_pickle=False)["matrix"]
        if meta.get("kind") != "query_adapter" or matrix.shape != (meta["dim"], meta["dim"]):
            raise ValueError(f"{d} is not a query adapter artifact")
        return cls(matrix=matrix.astype(np.float32), metrics=dict(meta.get("metrics") or {}),
                   symmetric=bool(meta.get("symmetric")), bm25_factor=float(meta.get("bm25_factor", 1.0)))


class AdaptedIndex:
    """A tenant's hybrid index searched with its learned query adapter: the hook serving
    uses (``ml.serving``). Everything but the query vector is the wrapped index's."""

    def __init__(self, index: HybridIndex, adapter: QueryAdapter, version: int | None = None) -> None:
        self.adapter, self.version, self.base = adapter, version, index
        self.index = index
        if adapter.symmetric:  # a copy with mapped article vectors; the base index is never changed
            self.index = copy.copy(index)
            self.index.embeddings = adapter.transform(index.embeddings)

    def __len__(self) -> int:
        return len(self.index)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.index, name)

    def search(self, query: str, query_vec: np.ndarray | None, k: int = 5, **kw: Any) -> list[Any]:
        qv = None if query_vec is None else self.adapter.transform(query_vec)
        weight = kw.get("bm25_weight")
        kw["bm25_weight"] = (self.index.bm25_weight if weight is None else float(weight)) * self.adapter.bm25_factor
        return self.index.search(query, qv, k, **kw)


# --------------------------------------------------------------------------- data


def _bucket(text: str) -> int:
    return int(hashlib.sha256(" ".join(text.lower().split()).encode()).hexdigest()[:8], 16) % 100


def split_pairs(pairs: Iterable[RetrievalPair | Mapping[str, Any]], *, validation_percent: int = 25,
                known_articles: set[str] | None = None) -> tuple[list[RetrievalPair], list[RetrievalPair]]:
    """(train, validation): deduplicated on the question (the newest label wins), pairs of
    articles no longer in the index dropped, split by a hash of the question so a pair
    never changes side between runs."""
    latest: dict[str, RetrievalPair] = {}
    for raw in pairs:
        p = RetrievalPair.coerce(raw)
        if p.question.strip() and (known_articles is None or p.article_id in known_articles):
            latest[" ".join(p.question.lower().split())] = p
    train: list[RetrievalPair] = []
    validation: list[RetrievalPair] = []
    for key, p in latest.items():
        (validation if _bucket(key) < validation_percent else train).append(p)
    return train, validation


def pairs_hash(pairs: Sequence[RetrievalPair]) -> str:
    h = hashlib.sha256()
    for p in sorted(pairs, key=lambda x: (x.question, x.article_id)):
        h.update(f"{p.question}\x1f{p.article_id}\x1e".encode())
    return h.hexdigest()[:16]


# --------------------------------------------------------------------------- metrics


def evaluate(index: Any, pairs: Sequence[RetrievalPair], qvecs: np.ndarray, *, k: int = 10) -> dict[str, Any]:
    """hit@1 / hit@5 / MRR@10 of ``index.search`` (each query with its language's BM25
    weight, as the answer step searches), overall and per language."""
    ranks: list[int] = []
    for p, qv in zip(pairs, qvecs, strict=True):
        seen: list[str] = []
        for h in index.search(p.question, qv, k * 4, bm25_weight=bm25_weight_for(p.language)):
            if h.article_id not in seen:
                seen.append(h.article_id)
        ranks.append(seen.index(p.article_id) + 1 if p.article_id in seen[:k] else 0)
    out = _rank_metrics(ranks)
    languages = sorted({p.language for p in pairs})
    out["per_language"] = {lang: _rank_metrics([r for r, p in zip(ranks, pairs, strict=True) if p.language == lang])
                           for lang in languages}
    return out


def _rank_metrics(ranks: Sequence[int]) -> dict[str, Any]:
    r = np.asarray(ranks, dtype=np.int64)
    if not len(r):
        return {"hit@1": 0.0, "hit@5": 0.0, "mrr@10": 0.0, "n": 0}
    return {"hit@1": float((r == 1).mean()), "hit@5": float(((r >= 1) & (r <= 5)).mean()),
            "mrr@10": float(np.where(r > 0, 1.0 / np.maximum(r, 1), 0.0).mean()), "n": int(len(r))}


def decide(candidate: Mapping[str, Any], serving: Mapping[str, Any],
           policy: RetrievalGatePolicy | None = None) -> tuple[bool, str]:
    """Promote only when hit@1 on the held-out pairs improves and no language loses."""
    p = policy or RetrievalGatePolicy()
    n = int(candidate.get("n", 0))
    if n < p.min_validation_pairs:
        return False, f"too few held-out pairs ({n} < {p.min_validation_pairs})"
    c1, s1 = float(candidate["hit@1"]), float(serving["hit@1"])
    if c1 - s1 <= p.min_hit1_gain:
        return False, f"hit@1 {c1:.3f} vs serving {s1:.3f}: no improvement"
    for lang, cm in (candidate.get("per_language") or {}).items():
        sm = (serving.get("per_language") or {}).get(lang)
        if sm and float(sm["hit@1"]) - float(cm["hit@1"]) > p.max_language_hit1_drop + 1e-12:
            return False, f"hit@1 in {lang} drops {float(sm['hit@1']):.3f} -> {float(cm['hit@1']):.3f}"
    return True, f"hit@1 {c1:.3f} vs serving {s1:.3f}; hit@5 {float(candidate['hit@5']):.3f} vs {float(serving['hit@5']):.3f}"


# --------------------------------------------------------------------------- training


def _device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _positive_chunks(index: HybridIndex, qvecs: np.ndarray, article_ids: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """For each pair: the gold article's chunk nearest the question (the positive), and a
    mask of the gold article's other chunks (neither positive nor negative)."""
    chunk_articles = np.array([c.article_id for c in index.chunks])
    sims = qvecs @ index.embeddings.T
    positives = np.empty(len(article_ids), dtype=np.int64)
    same = np.zeros((len(article_ids), len(chunk_articles)), dtype=bool)
    for i, aid in enumerate(article_ids):
        own = np.where(chunk_articles == aid)[0]
        positives[i] = own[int(np.argmax(sims[i, own]))]
        same[i, own] = True
        same[i, positives[i]] = False
    return positives, same


def train_adapter(index: HybridIndex, train_q: np.ndarray, train_articles: Sequence[str], *,
                  params: AdapterParams | None = None, progress: Progress | None = None,
                  should_cancel: Callable[[], bool] | None = None) -> tuple[QueryAdapter, dict[str, Any]]:
    """Fit the adapter; the last ~15% of the (shuffled) training pairs early-stop it."""
    import torch

    p = params or AdapterParams()
    report = progress or (lambda *_a: None)
    cancel = should_cancel or (lambda: False)
    dev = _device()
    gen = torch.Generator().manual_seed(p.seed)
    positives, same = _positive_chunks(index, train_q, train_articles)
    order = torch.randperm(len(train_q), generator=gen).numpy()
    n_stop = max(1, len(order) * 15 // 100) if len(order) >= 20 else 0
    fit_ix, stop_ix = order[n_stop:], order[:n_stop]
    Q = torch.tensor(train_q, device=dev)
    A = torch.tensor(index.embeddings, device=dev)
    P = torch.tensor(positives, device=dev)
    M = torch.tensor(same, device=dev)
    eye = torch.eye(Q.shape[1], device=dev)
    W = torch.nn.Parameter(eye.clone())
    opt = torch.optim.Adam([W], lr=p.lr)

    def loss_of(ix: torch.Tensor) -> torch.Tensor:
        q = torch.nn.functional.normalize(Q[ix] @ W, dim=1)
        a = torch.nn.functional.normalize(A @ W, dim=1) if p.symmetric else A
        logits = (p.scale * q @ a.T).masked_fill(M[ix], float("-inf"))
        return torch.nn.functional.cross_entropy(logits, P[ix])

    best, best_w, stale, last = float("inf"), W.detach().clone(), 0, 0.0
    fit_t = torch.tensor(fit_ix, device=dev)
    stop_t = torch.tensor(stop_ix, device=dev)
    for epoch in range(p.epochs):
        perm = fit_t[torch.randperm(len(fit_t), generator=gen).to(dev)]
        for b in range(0, len(perm), p.batch):
            if cancel():
                raise Cancelled()
            loss = loss_of(perm[b:b + p.batch]) + p.identity_weight * ((W - eye) ** 2).sum() / W.shape[0]
            opt.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            opt.step()
            last = loss.item()
        with torch.no_grad():
            score = float(loss_of(stop_t)) if n_stop else last
        report("training", epoch + 1, p.epochs, last)
        if score < best - 1e-4:
            best, best_w, stale = score, W.detach().clone(), 0
        else:
            stale += 1
            if stale >= p.patience:
                break
    info = {"epochs_run": epoch + 1, "early_stop_loss": best, "device": dev, "n_fit": len(fit_ix),
            "n_early_stop": int(n_stop), "params": asdict(p), "early_stop_ix": [int(i) for i in stop_ix]}
    return QueryAdapter(matrix=best_w.cpu().numpy().astype(np.float32), symmetric=p.symmetric), info


# --------------------------------------------------------------------------- the orchestration


@dataclass
class RetrievalOutcome:
    trained: bool
    promote: bool
    reason: str
    candidate: QueryAdapter | None = None
    artifact_dir: str = ""
    gate: dict[str, Any] = field(default_factory=dict)  # {"candidate": metrics, "serving": metrics}
    stats: dict[str, Any] = field(default_factory=dict)
    training_seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        return {"trained": self.trained, "promote": self.promote, "reason": self.reason, "gate": self.gate,
                "stats": self.stats, "training_seconds": self.training_seconds}


def retrain_retrieval(pairs: Iterable[RetrievalPair | Mapping[str, Any]], *, index: HybridIndex | None,
                      encode: EncodeFn, out_dir: str | Path, serving: QueryAdapter | None = None,
                      params: AdapterParams | None = None, gate_policy: RetrievalGatePolicy | None = None,
                      progress: Progress | None = None, should_cancel: Callable[[], bool] | None = None,
                      min_pairs: int = 8) -> RetrievalOutcome:
    """Split the pairs, train a candidate adapter, gate it against the serving one (or the
    frozen encoder) on the same held-out pairs. Writes the candidate's artifact only; the
    caller registers and promotes. Raises ``Cancelled`` when cancelled."""
    t0 = time.perf_counter()
    report = progress or (lambda *_a: None)
    known = {c.article_id for c in index.chunks} if index is not None else set()
    train, validation = split_pairs(pairs, known_articles=known)
    stats = {"train_pairs": len(train), "validation_pairs": len(validation), "validation_hash": pairs_hash(validation),
             "sources": dict(sorted(_count(p.source for p in train + validation).items()))}
    if index is None or len(train) < min_pairs:
        return RetrievalOutcome(False, False, f"needs at least {min_pairs} training pairs of live articles "
                                              f"(has {len(train)})", stats=stats)
    report("encoding", 0, 1, None)
    vecs = np.asarray(encode([p.question for p in train + validation]), dtype=np.float32)
    train_q, val_q = vecs[:len(train)], vecs[len(train):]
    report("encoding", 1, 1, None)
    adapter, info = train_adapter(index, train_q, [p.article_id for p in train], params=params, progress=progress,
                                  should_cancel=should_cancel)
    stop_ix = info.pop("early_stop_ix")
    adapter.bm25_factor = choose_bm25_factor(index, adapter, [train[i] for i in stop_ix], train_q[stop_ix])
    info["bm25_factor"] = adapter.bm25_factor
    report("comparing", 0, 1, None)
    cand = evaluate(AdaptedIndex(index, adapter), validation, val_q)
    serv = evaluate(AdaptedIndex(index, serving) if serving is not None else index, validation, val_q)
    promote, reason = decide(cand, serv, gate_policy)
    seconds = time.perf_counter() - t0
    adapter.metrics = {**cand, "serving": serv, "training": info, **stats, "training_seconds": seconds}
    if should_cancel is not None and should_cancel():
        raise Cancelled()
    path = adapter.save(out_dir)
    report("comparing", 1, 1, None)
    return RetrievalOutcome(True, promote, reason, candidate=adapter, artifact_dir=str(path),
                            gate={"candidate": cand, "serving": serv}, stats={**stats, "training": info},
                            training_seconds=seconds)


BM25_FACTORS = (0.5, 1.0, 1.5, 2.0, 3.0)


def choose_bm25_factor(index: HybridIndex, adapter: QueryAdapter, pairs: Sequence[RetrievalPair],
                       qvecs: np.ndarray) -> float:
    """The BM25 weight factor with the best hit@1 (then MRR) on the early-stop pairs (not
    the gate's held-out pairs, so the gate stays an honest check); ties keep 1.0."""
    if not len(pairs):
        return 1.0
    scored = []
    for factor in BM25_FACTORS:
        m = evaluate(AdaptedIndex(index, dataclasses.replace(adapter, bm25_factor=factor)), pairs, qvecs)
        scored.append((round(m["hit@1"], 6), round(m["mrr@10"], 6), -abs(np.log(factor)), factor))
    return float(max(scored)[3])


def _count(items: Iterable[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for x in items:
        out[x] = out.get(x, 0) + 1
    return out


__all__ = ["AdaptedIndex", "AdapterParams", "QueryAdapter", "RetrievalGatePolicy", "RetrievalOutcome",
           "RetrievalPair", "decide", "evaluate", "retrain_retrieval", "split_pairs", "train_adapter"]
