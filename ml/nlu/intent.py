"""Intent classification with calibrated confidence and an out-of-scope decision.

Model: one L2-regularised multinomial logistic regression over
``[embedding_weight * MiniLM embedding | word 1-2-gram TF-IDF | char 2-5-gram TF-IDF]``,
blended (log-linear, weight ``knn_weight``) with a nearest-example similarity score per
intent, which helps most when a tenant has only a handful of examples. Scores are
temperature-scaled on a validation split; an utterance is out of scope when the
calibrated top probability or the nearest-example cosine falls below thresholds tuned on
that split.

Training works with 2 examples per intent (no validation split then: default
hyper-parameters, temperature 1, default thresholds) and takes well under a second for
small tenants, so a tenant's first model never waits.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

ARTIFACT_VERSION = 1
KNN_TAU = 0.05  # softmax temperature over cosine similarities for the nearest-example term
DEFAULT_PARAMS: dict[str, float] = {"embedding_weight": 3.0, "C": 10.0, "knn_weight": 0.3}
# Grid searched when a validation split exists; small on purpose (CPU budget).
DEFAULT_GRID: list[dict[str, float]] = [
    {"embedding_weight": 1.0, "C": 10.0},
    {"embedding_weight": 2.0, "C": 10.0},
    {"embedding_weight": 3.0, "C": 10.0},
    {"embedding_weight": 2.0, "C": 30.0},
]
KNN_WEIGHTS = (0.0, 0.3, 0.5)
DEFAULT_PROB_THRESHOLD = 0.0  # untuned models rely on the similarity floor
DEFAULT_SIM_THRESHOLD = 0.35   # MiniLM cosine to the nearest training example
# Share of in-scope validation messages the OOS thresholds may reject (tenant policy
# ml.models.AIPolicy.oos_max_in_scope_reject overrides it).
DEFAULT_MAX_IN_SCOPE_REJECT = 0.03


class TextEncoder(Protocol):
    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray: ...


@dataclass(frozen=True)
class Prediction:
    intent: str
    confidence: float
    out_of_scope: bool
    similarity: float = 0.0
    top: tuple[tuple[str, float], ...] = ()

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["top"] = [list(t) for t in self.top]
        return d


# --------------------------------------------------------------------------- helpers


def data_hash(texts: Sequence[str], labels: Sequence[str]) -> str:
    """Order-independent fingerprint of a labelled snapshot (for the model registry)."""
    h = hashlib.sha256()
    for lab, txt in sorted(zip(labels, texts, strict=False)):
        h.update(lab.encode())
        h.update(b"\x1f")
        h.update(txt.encode())
        h.update(b"\x1e")
    return h.hexdigest()[:16]


def train_val_split(labels: Sequence[str], *, val_fraction: float = 0.15, seed: int = 0,
                    texts: Sequence[str] | None = None,
                    min_train_per_class: int = 2) -> tuple[list[int], list[int]]:
    """Deterministic stratified split -> (train indices, validation indices).

    Examples are ranked inside each class by a seeded hash of their text, so the split
    does not depend on row order and barely moves when data is appended. A class keeps at
    least ``min_train_per_class`` training examples; classes that small get no validation.
    """
    keys = texts if texts is not None else [str(i) for i in range(len(labels))]
    by_class: dict[str, list[int]] = {}
    for i, lab in enumerate(labels):
        by_class.setdefault(lab, []).append(i)
    train: list[int] = []
    val: list[int] = []
    for lab in sorted(by_class):
        idx = sorted(by_class[lab], key=lambda i: hashlib.md5(
            f"{seed}|{lab}|{keys[i]}".encode(), usedforsecurity=False).hexdigest())
        n_val = min(int(round(len(idx) * val_fraction)), len(idx) - min_train_per_class)
        n_val = max(n_val, 0)
        val.extend(idx[:n_val])
        train.extend(idx[n_val:])
    return sorted(train), sorted(val)


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    out: np.ndarray = e / e.sum(axis=1, keepdims=True)
    return out


def _fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """Scalar temperature minimising validation NLL (Guo et al. 2017)."""
    from scipy.optimize import minimize_scalar

    def nll(log_t: float) -> float:
        p = _softmax(logits / math.exp(log_t))
        return float(-np.log(p[np.arange(len(y)), y] + 1e-12).mean())

    res = minimize_scalar(nll, bounds=(-3.0, 3.0), method="bounded")
    return float(math.exp(res.x))


def expected_calibration_error(conf: np.ndarray, correct: np.ndarray, bins: int = 15) -> float:
    edges = np.linspace(0, 1, bins + 1)
    ece = 0.0
    for lo, hi in zip(edges[:-1], edges[1:], strict=False):
        m = (conf > lo) & (conf <= hi)
        if m.any():
            ece += m.mean() * abs(correct[m].mean() - conf[m].mean())
    return float(ece)


# --------------------------------------------------------------------------- model


@dataclass
class _Split:
    """Data to fit on and validation data to tune on (IntentClassifier.train)."""

    fit_t: list[str]
    fit_l: list[str]
    fit_e: np.ndarray
    va_t: list[str]
    va_y: list[str]
    va_e: np.ndarray
    refit: bool  # tuned on a carved split: refit on all data with the chosen settings
    kind: str


def _validation_split(texts: list[str], labels: list[str], emb: np.ndarray, validation: Any, counts: Counter[str],
                      val_fraction: float, seed: int, enc: TextEncoder | None) -> tuple[_Split, TextEncoder | None]:
    """External validation when given, else carved from the data when every intent has
    enough examples, else none (defaults). Returns the encoder too (created when needed)."""
    if validation is not None:
        va_t = [str(t) for t in validation[0]]
        va_y = [str(y) for y in validation[1]]
        if len(validation) > 2 and validation[2] is not None:
            va_e = np.asarray(validation[2], dtype=np.float32)
        else:
            enc = enc or _default_encoder()
            va_e = enc.encode(va_t)
        keep = [i for i, y in enumerate(va_y) if y in counts]  # unseen labels cannot score
        return _Split(texts, labels, emb, [va_t[i] for i in keep], [va_y[i] for i in keep], va_e[keep], False,
                      "external"), enc
    if min(counts.values()) >= 4 and len(texts) >= 20:
        tr_idx, va_idx = train_val_split(labels, val_fraction=val_fraction, seed=seed, texts=texts)
        return _Split([texts[i] for i in tr_idx], [labels[i] for i in tr_idx], emb[tr_idx],
                      [texts[i] for i in va_idx], [labels[i] for i in va_idx], emb[va_idx], True,
                      f"carved {val_fraction:.0%}"), enc
    return _Split(texts, labels, emb, [], [], emb[:0], False, "none (too few examples: defaults)"), enc


def _calibrate(model: IntentClassifier, split: _Split, oos_texts: Sequence[str] | None,
               oos_embeddings: np.ndarray | None, target_in_scope_recall: float,
               max_in_scope_reject: float = DEFAULT_MAX_IN_SCOPE_REJECT,
               curve: list[dict[str, float]] | None = None) -> tuple[float, float, float]:
    """Temperature and OOS thresholds (probability, similarity) on the validation split;
    with OOS examples, ``curve`` (when given) receives the operating points (``oos_curve``)."""
    logits, sims = model._scores(split.va_t, split.va_e)
    y_idx = np.array([model.classes.index(y) for y in split.va_y])
    temperature = _fit_temperature(logits, y_idx)
    maxp = _softmax(logits / temperature).max(axis=1)
    if oos_texts:
        ol, osims = model._scores(list(oos_texts), np.asarray(oos_embeddings, np.float32))
        oos_p = _softmax(ol / temperature).max(axis=1)
        prob_thr, sim_thr = _tune_oos(maxp, sims, oos_p, osims, max_in_scope_reject)
        if curve is not None:
            curve.extend(oos_curve(maxp, sims, oos_p, osims))
        return temperature, prob_thr, sim_thr
    # No OOS examples: reject the least-confident (1 - target) share of in-scope.
    prob_thr = float(np.quantile(maxp, 1.0 - target_in_scope_recall))
    sim_thr = min(DEFAULT_SIM_THRESHOLD, float(np.quantile(sims, 0.01)))
    return temperature, prob_thr, sim_thr


@dataclass
class IntentClassifier:
    """Trained intent model. Build with ``IntentClassifier.train``; ``save``/``load``."""

    classes: list[str]
    params: dict[str, float]
    temperature: float
    prob_threshold: float
    sim_threshold: float
    word_vec: Any
    char_vec: Any
    coef: np.ndarray
    intercept: np.ndarray
    train_embeddings: np.ndarray  # L2-normalised, grouped by class
    class_starts: np.ndarray      # start offset of each class in train_embeddings
    info: dict[str, Any] = field(default_factory=dict)
    encoder: TextEncoder | None = field(default=None, repr=False, compare=False)

    # ----- training
    @classmethod
    def train(cls, texts: Sequence[str], labels: Sequence[str], *, seed: int = 0,
              encoder: TextEncoder | None = None, embeddings: np.ndarray | None = None,
              params: dict[str, float] | None = None,
              grid: Sequence[dict[str, float]] | None = None,
              validation: tuple[Sequence[str], Sequence[str]]
              | tuple[Sequence[str], Sequence[str], np.ndarray | None] | None = None,
              val_fraction: float = 0.15, oos_texts: Sequence[str] | None = None,
              oos_embeddings: np.ndarray | None = None,
              target_in_scope_recall: float | None = None,
              max_in_scope_reject: float = DEFAULT_MAX_IN_SCOPE_REJECT) -> IntentClassifier:
        """Train; tune hyper-parameters, temperature and OOS thresholds on validation.

        Validation is ``validation=(texts, labels[, embeddings])`` when given (fit once per
        grid point on all data, no refit); otherwise carved from the data when every intent
        has >= 4 examples (then refit on all data with the chosen settings); otherwise
        none (defaults; for brand-new tenants with 2-3 examples per intent).

        ``embeddings`` may be passed precomputed (aligned with ``texts``) to avoid
        re-encoding; otherwise ``encoder`` (default: the process-wide MiniLM) is used.
        ``oos_texts`` are optional known out-of-scope utterances used only to tune the
        OOS thresholds on validation, rejecting at most ``max_in_scope_reject`` of the
        in-scope validation messages (without them: that share of the least confident).
        """
        t0 = time.perf_counter()
        texts = [str(t) for t in texts]
        labels = [str(lab) for lab in labels]
        if len(texts) != len(labels) or not texts:
            raise ValueError("texts and labels must be non-empty and aligned")
        if len(set(labels)) < 2:
            raise ValueError("need at least two intents")
        enc = encoder
        if embeddings is None:
            enc = enc or _default_encoder()
            embeddings = enc.encode(texts)
        emb = np.asarray(embeddings, dtype=np.float32)

        counts = Counter(labels)
        info: dict[str, Any] = {"data_hash": data_hash(texts, labels), "n_train": len(texts),
                                "n_intents": len(counts), "seed": seed}
        chosen = dict(DEFAULT_PARAMS)
        if params:
            chosen.update(params)
        temperature, prob_thr, sim_thr = 1.0, DEFAULT_PROB_THRESHOLD, DEFAULT_SIM_THRESHOLD
        split, enc = _validation_split(texts, labels, emb, validation, counts, val_fraction, seed, enc)
        info["validation"] = split.kind
        model: IntentClassifier | None = None
        if split.va_t:
            candidates = [dict(chosen)] if params else [dict(DEFAULT_PARAMS, **g) for g in (grid or DEFAULT_GRID)]
            val_acc, chosen, val_model, info["search"] = cls._search(
                split, candidates, tune_knn=not params, seed=seed, encoder=enc)
            info["val_accuracy"] = val_acc
            info["n_validation"] = len(split.va_t)
            if oos_texts and oos_embeddings is None:
                enc = enc or _default_encoder()
                oos_embeddings = enc.encode(list(oos_texts))
            curve: list[dict[str, float]] = []
            temperature, prob_thr, sim_thr = _calibrate(
                val_model, split, oos_texts, oos_embeddings,
                1.0 - max_in_scope_reject if target_in_scope_recall is None else target_in_scope_recall,
                max_in_scope_reject, curve)
            info["oos_budget"] = max_in_scope_reject
            if curve:
                info["oos_curve"] = curve
            if oos_texts:
                info["oos_tuned_on"] = len(oos_texts)
            if not split.refit:
                model = val_model
        if model is None:
            model = cls._fit(texts, labels, emb, chosen, seed=seed, encoder=enc)
        model.temperature, model.prob_threshold, model.sim_threshold = temperature, prob_thr, sim_thr
        info["train_seconds"] = round(time.perf_counter() - t0, 3)
        model.info = info
        return model

    @classmethod
    def _search(cls, split: _Split, candidates: list[dict[str, float]], *, tune_knn: bool, seed: int,
                encoder: TextEncoder | None) -> tuple[float, dict[str, float], IntentClassifier, list[dict[str, Any]]]:
        """Grid search on the validation split: (accuracy, params, model fitted on split's
        fit part with those params, every point tried)."""
        best: tuple[float, dict[str, float], IntentClassifier] | None = None
        search: list[dict[str, Any]] = []
        for cand in candidates:
            m = cls._fit(split.fit_t, split.fit_l, split.fit_e, cand, seed=seed, encoder=encoder)
            for kw in (list(KNN_WEIGHTS) if tune_knn else [cand["knn_weight"]]):
                m.params["knn_weight"] = kw
                pred = m._scores(split.va_t, split.va_e)[0].argmax(axis=1)
                acc = float(np.mean([m.classes[p] == y for p, y in zip(pred, split.va_y, strict=False)]))
                search.append({**m.params, "val_accuracy": round(acc, 4)})
                if best is None or acc > best[0] + 1e-9:
                    best = (acc, dict(m.params), m)
        assert best is not None
        val_acc, chosen, val_model = best
        val_model.params = dict(chosen)
        return val_acc, chosen, val_model, search

    @classmethod
    def _fit(cls, texts: list[str], labels: list[str], emb: np.ndarray, params: dict[str, float],
             *, seed: int, encoder: TextEncoder | None) -> IntentClassifier:
        from scipy import sparse
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        word = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, lowercase=True)
        char = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True,
                               min_df=2 if len(texts) > 2000 else 1, lowercase=True)
        W = word.fit_transform(texts)
        Cm = char.fit_transform(texts)
        X = sparse.hstack([sparse.csr_matrix(emb * params["embedding_weight"]), W, Cm]).tocsr()
        lr = LogisticRegression(C=params["C"], max_iter=300, random_state=seed)
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning at max_iter is harmless here
            lr.fit(X, labels)
        classes = [str(c) for c in lr.classes_]
        order = np.argsort([classes.index(lab) for lab in labels], kind="stable")
        sorted_labels = [labels[i] for i in order]
        starts = np.array([sorted_labels.index(c) for c in classes], dtype=np.int64)
        return cls(classes=classes, params=dict(params), temperature=1.0,
                   prob_threshold=DEFAULT_PROB_THRESHOLD, sim_threshold=DEFAULT_SIM_THRESHOLD,
                   word_vec=word, char_vec=char, coef=lr.coef_.astype(np.float32),
                   intercept=lr.intercept_.astype(np.float32),
                   train_embeddings=emb[order].astype(np.float32), class_starts=starts,
                   encoder=encoder)

    # ----- inference
    def _scores(self, texts: Sequence[str], emb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(uncalibrated blended logits, nearest-example cosine of the best class)."""
        from scipy import sparse

        texts = list(texts)
        X = sparse.hstack([sparse.csr_matrix(emb * self.params["embedding_weight"]),
                           self.word_vec.transform(texts), self.char_vec.transform(texts)]).tocsr()
        z = np.asarray(X @ self.coef.T) + self.intercept
        if len(self.classes) == 2 and self.coef.shape[0] == 1:  # sklearn binary case
            z = np.hstack([-z / 2, z / 2])
        log_p = np.log(_softmax(z) + 1e-12)
        sims = emb @ self.train_embeddings.T
        per_class = np.maximum.reduceat(sims, self.class_starts, axis=1)
        kw = float(self.params.get("knn_weight", 0.0))
        if kw > 0:
            log_knn = np.log(_softmax(per_class / KNN_TAU) + 1e-12)
            log_p = (1 - kw) * log_p + kw * log_knn
        return log_p, per_class.max(axis=1)

    def predict_proba(self, texts: Sequence[str], embeddings: np.ndarray | None = None
                      ) -> tuple[np.ndarray, np.ndarray]:
        """Calibrated probabilities ``(n, n_intents)`` and nearest-example similarity."""
        emb = self._embed(texts, embeddings)
        logits, sims = self._scores(texts, emb)
        return _softmax(logits / self.temperature), sims

    def predict(self, texts: Sequence[str], embeddings: np.ndarray | None = None,
                top_k: int = 3) -> list[Prediction]:
        if not texts:
            return []
        probs, sims = self.predict_proba(texts, embeddings)
        out = []
        for p, s in zip(probs, sims, strict=False):
            order = np.argsort(-p)[:top_k]
            best = int(order[0])
            oos = bool(p[best] < self.prob_threshold or s < self.sim_threshold)
            out.append(Prediction(intent=self.classes[best], confidence=float(p[best]),
                                  out_of_scope=oos, similarity=float(s),
                                  top=tuple((self.classes[i], float(p[i])) for i in order)))
        return out

    def _embed(self, texts: Sequence[str], embeddings: np.ndarray | None) -> np.ndarray:
        if embeddings is not None:
            return np.asarray(embeddings, dtype=np.float32)
        if self.encoder is None:
            self.encoder = _default_encoder()
        return self.encoder.encode(list(texts))

    # ----- persistence: npz for arrays, json for metadata, joblib for the two vectorizers
    def save(self, directory: str | Path) -> Path:
        import joblib
        import sklearn

        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(d / "intent.npz", coef=self.coef, intercept=self.intercept,
                            train_embeddings=self.train_embeddings.astype(np.float16),
                            class_starts=self.class_starts)
        joblib.dump({"word": self.word_vec, "char": self.char_vec}, d / "vectorizers.joblib")
        meta = {"version": ARTIFACT_VERSION, "classes": self.classes, "params": self.params,
                "temperature": self.temperature, "prob_threshold": self.prob_threshold,
                "sim_threshold": self.sim_threshold, "info": self.info,
                "sklearn": sklearn.__version__}
        (d / "intent.json").write_text(json.dumps(meta, indent=1, default=float))
        return d

    @classmethod
    def load(cls, directory: str | Path, *, encoder: TextEncoder | None = None) -> IntentClassifier:
        import joblib

        d = Path(directory)
        meta = json.loads((d / "intent.json").read_text())
        if meta.get("version") != ARTIFACT_VERSION:
            raise ValueError(f"unsupported intent artifact version {meta.get('version')}")
        arr = np.load(d / "intent.npz", allow_pickle=False)
        vecs = joblib.load(d / "vectorizers.joblib")
        return cls(classes=list(meta["classes"]), params=dict(meta["params"]),
                   temperature=float(meta["temperature"]),
                   prob_threshold=float(meta["prob_threshold"]),
                   sim_threshold=float(meta["sim_threshold"]),
                   word_vec=vecs["word"], char_vec=vecs["char"], coef=arr["coef"],
                   intercept=arr["intercept"],
                   train_embeddings=arr["train_embeddings"].astype(np.float32),
                   class_starts=arr["class_starts"], info=dict(meta.get("info") or {}),
                   encoder=encoder)

    # ----- evaluation
    def evaluate(self, texts: Sequence[str], labels: Sequence[str | None], *,
                 embeddings: np.ndarray | None = None, top_confusions: int = 10) -> dict[str, Any]:
        """Metrics on a labelled set; a label of ``None`` or one unknown to the model
        marks an out-of-scope example."""
        return evaluate(self, texts, labels, embeddings=embeddings, top_confusions=top_confusions)


def _tune_oos(in_p: np.ndarray, in_s: np.ndarray, oos_p: np.ndarray, oos_s: np.ndarray,
              max_in_scope_reject: float = DEFAULT_MAX_IN_SCOPE_REJECT) -> tuple[float, float]:
    """Thresholds with the best OOS recall while wrongly rejecting at most
    ``max_in_scope_reject`` of in-scope validation messages (the tenant's policy: a
    rejected in-scope visitor is handed off or asked to rephrase); ties -> fewer in-scope
    rejects. Both grids are quantiles of the in-scope validation scores up to the budget
    (plus "off"), so the similarity floor is a point of the data, never a fixed grid's edge."""
    q = np.linspace(0.0, max(0.0, float(max_in_scope_reject)), 13)
    p_grid = np.unique(np.concatenate([[0.0], np.quantile(in_p, q)]))
    s_grid = np.unique(np.concatenate([[-1.0], np.quantile(in_s, q)]))
    best = (-1.0, 0.0, -1.0, 0.0)
    for pt in p_grid:
        for st in s_grid:
            rej_in = float(((in_p < pt) | (in_s < st)).mean())
            if rej_in > max_in_scope_reject + 1e-12:
                continue
            rej_oos = float(((oos_p < pt) | (oos_s < st)).mean())
            if (rej_oos, -rej_in) > (best[0], -best[3]):
                best = (rej_oos, float(pt), float(st), rej_in)
    return best[1], best[2]


OOS_CURVE_BUDGETS = (0.0, 0.01, 0.02, 0.03, 0.05, 0.08, 0.1, 0.15)


def oos_curve(in_p: np.ndarray, in_s: np.ndarray, oos_p: np.ndarray, oos_s: np.ndarray,
              budgets: Sequence[float] = OOS_CURVE_BUDGETS) -> list[dict[str, float]]:
    """The operating points a tenant can choose: for each in-scope rejection budget, the
    tuned thresholds and, on the same validation data, in-scope rejection, OOS recall and
    OOS precision (share of rejected messages that really were out of scope)."""
    out = []
    for budget in budgets:
        pt, st = _tune_oos(in_p, in_s, oos_p, oos_s, budget)
        rej_in = int(((in_p < pt) | (in_s < st)).sum())
        rej_oos = int(((oos_p < pt) | (oos_s < st)).sum())
        out.append({"budget": float(budget), "prob_threshold": pt, "sim_threshold": st,
                    "in_scope_reject": rej_in / max(1, len(in_p)), "oos_recall": rej_oos / max(1, len(oos_p)),
                    "oos_precision": rej_oos / max(1, rej_in + rej_oos)})
    return out


def evaluate(model: IntentClassifier, texts: Sequence[str], labels: Sequence[str | None], *,
             embeddings: np.ndarray | None = None, top_confusions: int = 10) -> dict[str, Any]:
    """accuracy / macro-F1 (in-scope, by argmax), OOS recall & precision, ECE, confusions."""
    from sklearn.metrics import f1_score

    preds = model.predict(list(texts), embeddings)
    known = set(model.classes)
    is_oos = np.array([lab is None or lab not in known for lab in labels])
    flagged = np.array([p.out_of_scope for p in preds])
    ins = ~is_oos
    y_true = [lab for lab, o in zip(labels, is_oos, strict=False) if not o]
    y_pred = [p.intent for p, o in zip(preds, is_oos, strict=False) if not o]
    conf = np.array([p.confidence for p, o in zip(preds, is_oos, strict=False) if not o])
    correct = np.array([a == b for a, b in zip(y_true, y_pred, strict=False)])
    out: dict[str, Any] = {"n": len(texts), "n_in_scope": int(ins.sum()), "n_oos": int(is_oos.sum())}
    if ins.any():
        out["accuracy"] = float(correct.mean())
        out["macro_f1"] = float(f1_score(y_true, y_pred, average="macro", labels=sorted({str(y) for y in y_true})))
        out["ece"] = expected_calibration_error(conf, correct.astype(float))
        out["in_scope_flagged_oos"] = float(flagged[ins].mean())
        out["in_scope_accepted_accuracy"] = float(
            np.mean([c for c, f in zip(correct, flagged[ins], strict=False) if not f]) if (~flagged[ins]).any() else 0.0)
        pairs = Counter((t, p) for t, p in zip(y_true, y_pred, strict=False) if t != p)
        out["confused_pairs"] = [{"true": t, "pred": p, "count": c}
                                 for (t, p), c in pairs.most_common(top_confusions)]
    if is_oos.any():
        tp = int((flagged & is_oos).sum())
        out["oos_recall"] = tp / int(is_oos.sum())
        out["oos_precision"] = tp / int(flagged.sum()) if flagged.any() else 0.0
    return out


def _default_encoder() -> TextEncoder:
    from ml.backends.embeddings import get_encoder

    return get_encoder()
