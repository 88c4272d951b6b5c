"""Artifact loading for retrained intent models, and a plain linear alternative.

The default retrain backend is ``ml.nlu.intent.IntentClassifier``; ``load_model`` is the
one loader for whatever a retrain wrote (including a CUDA-fine-tuned encoder that the
head's features depend on). ``LinearIntentModel`` is the same feature recipe (MiniLM
vectors + word/char TF-IDF, one logistic regression) without calibration or kNN
blending, fitted in warm-started chunks so it can report a loss and cancel mid-fit.

Out of scope is a label like any other when the tenant has examples of it
(``OUT_OF_SCOPE``), plus a probability floor (``oos_threshold``) for everything else.
Artifacts are a folder: ``manifest.json`` (what to load), ``head.pkl`` (vectorisers +
head) and optionally ``encoder/`` (a fine-tuned MiniLM). Pickles are only ever read
from the registry's own artifact path, never from user uploads.
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ml.learning.dataset import OUT_OF_SCOPE

MANIFEST = "manifest.json"
FORMAT = "kefu-linear-intent/1"
EncodeFn = Callable[[Sequence[str]], np.ndarray]


class Cancelled(Exception):  # noqa: N818 - reads as "training was Cancelled"
    """Raised inside training when ``should_cancel()`` says so."""


def _default_encode(texts: Sequence[str]) -> np.ndarray:
    from ml.backends.embeddings import encode

    return encode(list(texts))


class LinearIntentModel:
    """MiniLM + TF-IDF features, one logistic-regression head; ``predict`` returns the
    dicts the serving adapter (``ml.serving.IntentModel``) already understands."""

    def __init__(self, *, C: float = 10.0, embedding_weight: float = 1.0, oos_threshold: float = 0.0,
                 max_iter: int = 400, word_ngrams: tuple[int, int] = (1, 2), char_ngrams: tuple[int, int] = (2, 5),
                 encode: EncodeFn | None = None) -> None:
        self.C = C
        self.embedding_weight = embedding_weight
        self.oos_threshold = oos_threshold
        self.max_iter = max_iter
        self.word_ngrams = word_ngrams
        self.char_ngrams = char_ngrams
        self._encode = encode
        self.encoder_dir: Path | None = None
        self.word_vec: Any = None
        self.char_vec: Any = None
        self.head: Any = None
        self.classes_: list[str] = []
        self.meta: dict[str, Any] = {}

    # --- features ---------------------------------------------------------------------------
    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if self._encode is None:
            if self.encoder_dir is not None:
                from ml.backends.embeddings import Encoder

                enc = Encoder(self.encoder_dir)
                self._encode = lambda ts: enc.encode(list(ts))
            else:
                self._encode = _default_encode
        return self._encode(texts)

    def _features(self, texts: Sequence[str], embeddings: np.ndarray | None) -> Any:
        from scipy import sparse

        emb = self.encode(texts) if embeddings is None else embeddings
        parts = [sparse.csr_matrix(np.asarray(emb, dtype=np.float64) * self.embedding_weight),
                 self.word_vec.transform(texts), self.char_vec.transform(texts)]
        return sparse.hstack(parts, format="csr")

    # --- training ---------------------------------------------------------------------------
    def fit(self, texts: Sequence[str], labels: Sequence[str], *, embeddings: np.ndarray | None = None,
            progress: Callable[[str, int, int, float | None], None] | None = None,
            should_cancel: Callable[[], bool] | None = None, iter_chunk: int = 50) -> LinearIntentModel:
        """Fit the vectorisers and the head; the head is fitted in warm-started chunks so
        progress (with the training loss) is reported and cancellation is honoured."""
        import warnings

        from sklearn.exceptions import ConvergenceWarning
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.metrics import log_loss

        report = progress or (lambda *_a: None)
        cancel = should_cancel or (lambda: False)
        texts = list(texts)
        labels = [str(x) for x in labels]
        if len(set(labels)) < 2:
            raise ValueError("need at least two labels to train an intent model")
        if embeddings is None:
            embeddings = self.encode(texts)
        self.word_vec = TfidfVectorizer(analyzer="word", ngram_range=self.word_ngrams, sublinear_tf=True,
                                        min_df=1, lowercase=True, token_pattern=r"(?u)\b\w+\b|<\w+>")
        self.char_vec = TfidfVectorizer(analyzer="char_wb", ngram_range=self.char_ngrams, sublinear_tf=True,
                                        min_df=2 if len(texts) > 2000 else 1, lowercase=True)
        self.word_vec.fit(texts)
        self.char_vec.fit(texts)
        X = self._features(texts, embeddings)
        if cancel():
            raise Cancelled()
        chunks = max(1, -(-self.max_iter // iter_chunk))
        head = LogisticRegression(C=self.C, max_iter=iter_chunk, warm_start=True, tol=1e-4)
        for i in range(chunks):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                head.fit(X, labels)
            loss = float(log_loss(labels, head.predict_proba(X), labels=head.classes_))
            report("fitting", i + 1, chunks, loss)
            if int(np.max(head.n_iter_)) < iter_chunk:  # converged inside this chunk
                report("fitting", chunks, chunks, loss)
                break
            if cancel():
                raise Cancelled()
        self.head = head
        self.classes_ = [str(c) for c in head.classes_]
        return self

    # --- inference --------------------------------------------------------------------------
    def predict_proba(self, texts: Sequence[str], embeddings: np.ndarray | None = None) -> np.ndarray:
        if self.head is None:
            raise RuntimeError("model is not trained")
        if not texts:
            return np.zeros((0, len(self.classes_)))
        probs: np.ndarray = self.head.predict_proba(self._features(list(texts), embeddings))
        return probs

    def predict(self, texts: Sequence[str], embeddings: np.ndarray | None = None) -> list[dict[str, Any]]:
        probs = self.predict_proba(texts, embeddings)
        out = []
        for row in probs:
            order = np.argsort(-row)[:3]
            best = self.classes_[int(order[0])]
            conf = float(row[order[0]])
            oos = best == OUT_OF_SCOPE or conf < self.oos_threshold
            out.append({"intent": None if oos else best, "confidence": round(conf, 4), "out_of_scope": oos,
                        "candidates": [{"name": self.classes_[int(j)], "probability": round(float(row[j]), 4)}
                                       for j in order]})
        return out

    # --- persistence ------------------------------------------------------------------------
    def save(self, out_dir: str | Path) -> Path:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        state = {"word_vec": self.word_vec, "char_vec": self.char_vec, "head": self.head,
                 "classes": self.classes_}
        with (out / "head.pkl").open("wb") as fh:
            pickle.dump(state, fh, protocol=pickle.HIGHEST_PROTOCOL)
        manifest = {"format": FORMAT, "loader": "ml.learning.model:LinearIntentModel",
                    "params": {"C": self.C, "embedding_weight": self.embedding_weight,
                               "oos_threshold": self.oos_threshold, "max_iter": self.max_iter,
                               "word_ngrams": list(self.word_ngrams), "char_ngrams": list(self.char_ngrams)},
                    "encoder": "encoder" if self.encoder_dir is not None else "bundled",
                    "labels": self.classes_, "meta": self.meta}
        (out / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
        return out

    @classmethod
    def load(cls, path: str | Path) -> LinearIntentModel:
        path = Path(path)
        manifest = json.loads((path / MANIFEST).read_text())
        if manifest.get("format") != FORMAT:
            raise ValueError(f"{path}: not a {FORMAT} artifact")
        p = manifest.get("params", {})
        model = cls(C=p.get("C", 10.0), embedding_weight=p.get("embedding_weight", 1.0),
                    oos_threshold=p.get("oos_threshold", 0.0), max_iter=p.get("max_iter", 400),
                    word_ngrams=tuple(p.get("word_ngrams", (1, 2))), char_ngrams=tuple(p.get("char_ngrams", (2, 5))))
        with (path / "head.pkl").open("rb") as fh:
            state = pickle.load(fh)  # noqa: S301 - our own artifact, written by save()
        model.word_vec, model.char_vec, model.head = state["word_vec"], state["char_vec"], state["head"]
        model.classes_ = list(state["classes"])
        model.meta = dict(manifest.get("meta", {}))
        if manifest.get("encoder") == "encoder" and (path / "encoder").is_dir():
            model.encoder_dir = path / "encoder"
        return model


def write_manifest(path: Path, *, backend: str, encoder: bool, meta: dict[str, Any]) -> None:
    """Record how to load an ``IntentClassifier`` artifact (which encoder its features need)."""
    (path / MANIFEST).write_text(json.dumps({"format": "kefu-intent/1", "backend": backend,
                                             "encoder": "encoder" if encoder else "bundled", "meta": meta},
                                            indent=2))


def load_model(artifact_dir: str | Path) -> Any:
    """Load any intent artifact a retrain wrote; serving should call this rather than
    ``IntentClassifier.load`` so that a fine-tuned encoder saved next to the head (CUDA
    retrains) is used for the features it was trained on."""
    path = Path(artifact_dir)
    manifest: dict[str, Any] = {}
    if (path / MANIFEST).exists():
        manifest = json.loads((path / MANIFEST).read_text())
        if manifest.get("format") == FORMAT:
            return LinearIntentModel.load(path)
    from ml.nlu.intent import IntentClassifier

    encoder = None
    if manifest.get("encoder") == "encoder" and (path / "encoder").is_dir():
        from ml.backends.embeddings import Encoder

        encoder = Encoder(path / "encoder")
    return IntentClassifier.load(str(path), encoder=encoder)
