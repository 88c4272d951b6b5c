"""Train one candidate intent model for a tenant (the body of the ``retrain_tenant`` task).

Plain data in (a ``TrainingSet``), a folder and metrics out; the caller owns the registry
row, the lock and the promotion decision. Design points:
- progress goes through a callback ``(stage, step, total, loss)`` the task turns into
  TrainingRun updates; ``should_cancel`` is polled between batches and head iterations
  and raises ``Cancelled``;
- the artifact is written to ``<out_dir>.partial`` and renamed at the end, so a worker
  killed mid-training never leaves a loadable half-model (and never touches the serving
  version's folder);
- CPU: frozen MiniLM + TF-IDF linear head (minutes). CUDA: MiniLM is fine-tuned first
  (``finetune_encoder=None`` means "when CUDA is available").
"""

from __future__ import annotations

import hashlib
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ml.learning.dataset import OUT_OF_SCOPE, TrainingSet
from ml.learning.metrics import compute_metrics, parse_prediction
from ml.learning.model import Cancelled, EncodeFn, LinearIntentModel, _default_encode, write_manifest

__all__ = ["Cancelled", "CandidateResult", "TrainParams", "code_version", "train_candidate"]

Progress = Callable[[str, int, int, float | None], None]


@dataclass(frozen=True)
class TrainParams:
    C: float = 10.0
    embedding_weight: float = 1.0
    oos_threshold: float = 0.0
    max_iter: int = 400
    embed_batch: int = 128
    # Fixed IntentClassifier hyper-parameters (skips its small grid search: ~5x faster fit).
    intent_params: dict[str, float] | None = None
    # Encoder fine-tuning (CUDA path; forced on CPU only in tests, with max_steps).
    finetune_epochs: int = 3
    finetune_lr: float = 3e-5
    finetune_batch: int = 32
    finetune_max_steps: int | None = None
    # The tenant's out-of-scope operating point (AIPolicy.oos_max_in_scope_reject).
    max_in_scope_reject: float = 0.03


@dataclass
class CandidateResult:
    artifact_dir: str
    metrics: dict[str, Any]
    training_seconds: float
    snapshot: dict[str, Any] = field(default_factory=dict)
    model: Any = None  # the fitted model (IntentClassifier or LinearIntentModel), for replay without reloading


def code_version() -> str:
    """Hash of this package's source: recorded with each version, changes when the
    training code does (works without git in deployed images)."""
    h = hashlib.sha256()
    for p in sorted(Path(__file__).parent.glob("*.py")):
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:12]


def _cuda_available() -> bool:
    try:
        import torch

        return bool(torch.cuda.is_available())
    except Exception:  # noqa: BLE001 - no torch means no CUDA
        return False


def _embed(encode: EncodeFn, texts: Sequence[str], batch: int, stage: str, progress: Progress,
           should_cancel: Callable[[], bool]) -> np.ndarray:
    chunks = [texts[i:i + batch] for i in range(0, len(texts), batch)] or [[]]
    out = []
    for i, chunk in enumerate(chunks):
        if should_cancel():
            raise Cancelled()
        out.append(encode(list(chunk)) if chunk else np.zeros((0, 384), dtype=np.float32))
        progress(stage, i + 1, len(chunks), None)
    return np.concatenate(out, axis=0)


def finetune_encoder(texts: Sequence[str], labels: Sequence[str], out_dir: Path, *, params: TrainParams,
                     progress: Progress, should_cancel: Callable[[], bool], device: str | None = None) -> Path:
    """Fine-tune MiniLM with a temporary softmax head (cross-entropy over intents) and save
    the encoder only: the linear head is refitted on the new vectors afterwards."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    from ml.backends._runtime import configure_torch, force_offline, pick_device
    from ml.backends.embeddings import _mean_pool, bundled_model_dir

    configure_torch()
    force_offline()
    dev = pick_device(device)
    tok = AutoTokenizer.from_pretrained(str(bundled_model_dir()))
    enc = AutoModel.from_pretrained(str(bundled_model_dir())).to(dev)
    classes = sorted(set(labels))
    index = {c: i for i, c in enumerate(classes)}
    y = torch.tensor([index[x] for x in labels])
    clf = torch.nn.Linear(enc.config.hidden_size, len(classes)).to(dev)
    opt = torch.optim.AdamW([{"params": enc.parameters(), "lr": params.finetune_lr},
                             {"params": clf.parameters(), "lr": 1e-3}], weight_decay=0.01)
    gen = torch.Generator().manual_seed(0)
    steps_per_epoch = -(-len(texts) // params.finetune_batch)
    total = steps_per_epoch * params.finetune_epochs
    if params.finetune_max_steps is not None:
        total = min(total, params.finetune_max_steps)
    use_bf16 = dev.startswith("cuda")
    step = 0
    enc.train()
    while step < total:
        perm = torch.randperm(len(texts), generator=gen).tolist()
        for start in range(0, len(perm), params.finetune_batch):
            if step >= total:
                break
            if should_cancel():
                raise Cancelled()
            idx = perm[start:start + params.finetune_batch]
            batch = tok([texts[i] for i in idx], padding=True, truncation=True, max_length=128, return_tensors="pt")
            batch = {k: v.to(dev) for k, v in batch.items()}
            with torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=use_bf16):
                hidden = enc(**batch).last_hidden_state
                vec = torch.nn.functional.normalize(_mean_pool(hidden, batch["attention_mask"]), dim=1)
                logits = clf(vec.float() * 20.0)  # cosine-softmax: scale keeps gradients alive
            loss = torch.nn.functional.cross_entropy(logits.float(), y[idx].to(dev))
            opt.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            opt.step()
            step += 1
            progress("fine-tuning encoder", step, total, float(loss.detach().cpu()))
    enc.eval()
    target = out_dir / "encoder"
    enc.save_pretrained(str(target))
    tok.save_pretrained(str(target))
    del enc, clf, opt
    if use_bf16:
        torch.cuda.empty_cache()
    return target


class _FnEncoder:
    """Adapts a plain ``encode(texts)`` callable to the encoder protocol the NLU package uses."""

    def __init__(self, fn: EncodeFn) -> None:
        self.fn = fn

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        return self.fn(list(texts))


def _nll(probs: np.ndarray, classes: Sequence[str], labels: Sequence[str]) -> float | None:
    idx = {c: i for i, c in enumerate(classes)}
    rows = [(r, idx[lb]) for r, lb in enumerate(labels) if lb in idx]
    if not rows:
        return None
    return float(-np.mean([np.log(probs[r, c] + 1e-12) for r, c in rows]))


def train_candidate(dataset: TrainingSet, *, out_dir: str | Path, progress: Progress | None = None,
                    should_cancel: Callable[[], bool] | None = None, params: TrainParams | None = None,
                    finetune: bool | None = None, encode: EncodeFn | None = None,
                    backend: str = "intent") -> CandidateResult:
    """Train, evaluate on ``dataset.validation`` and save a candidate under ``out_dir``.

    ``backend="intent"`` (default) trains ``ml.nlu.intent.IntentClassifier`` (what
    serving loads; it tunes its own hyper-parameters, temperature and OOS thresholds on a
    split carved from *train*, so ``dataset.validation`` stays untouched for the gate);
    ``"linear"`` is the plain ``LinearIntentModel`` (fitted in warm-started chunks, so
    it reports a loss per chunk and cancels mid-fit).

    Raises ``Cancelled`` (leaving nothing at ``out_dir``) when ``should_cancel()`` turns
    true -- polled between embedding batches and stages; the intent backend's fit itself
    (about a minute on Banking77) is not interruptible -- and ``ValueError`` when the
    data cannot make a model (fewer than two intents). ``encode`` overrides the MiniLM
    encoder (tests, benches with cached vectors). Load the artifact with
    ``ml.learning.model.load_model`` (it picks up a fine-tuned encoder).
    """
    report: Progress = progress or (lambda *_a: None)
    cancel = should_cancel or (lambda: False)
    p = params or TrainParams()
    if backend not in ("intent", "linear"):
        raise ValueError(f"unknown backend {backend!r}")
    out = Path(out_dir)
    partial = out.with_name(out.name + ".partial")
    if out.exists():
        raise FileExistsError(f"{out} already exists; every candidate gets a fresh folder")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    t0 = time.perf_counter()
    try:
        train_texts, train_labels = dataset.texts_labels("train")
        val_texts, val_labels = dataset.texts_labels("validation")
        in_scope = [i for i, lb in enumerate(train_labels) if lb != OUT_OF_SCOPE]
        if len({train_labels[i] for i in in_scope}) < 2:
            raise ValueError("need at least two intents to train an intent model")
        report("preparing", 1, 1, None)
        encoder_dir: Path | None = None
        do_finetune = _cuda_available() if finetune is None else finetune
        if do_finetune and encode is None:
            encoder_dir = finetune_encoder([train_texts[i] for i in in_scope], [train_labels[i] for i in in_scope],
                                           partial, params=p, progress=report, should_cancel=cancel)
            from ml.backends.embeddings import Encoder

            fine = Encoder(encoder_dir)
            encode = lambda ts: fine.encode(list(ts))  # noqa: E731
        enc_fn: EncodeFn = encode or _default_encode
        train = _Split(train_texts, train_labels, _embed(enc_fn, train_texts, p.embed_batch, "embedding", report, cancel))
        val = _Split(val_texts, val_labels,
                     _embed(enc_fn, val_texts, p.embed_batch, "embedding validation", report, cancel))
        fit = _fit_linear if backend == "linear" else _fit_intent
        model, metrics = fit(train, val, enc_fn, p, report, cancel)
        fit_seconds = time.perf_counter() - t0
        report("evaluating", 1, 1, None)
        metrics.update({"validation_hash": dataset.snapshot.validation_hash, "data_hash": dataset.snapshot.hash,
                        "n_train": len(train_texts), "n_validation": len(val_texts),
                        "labels": len(dataset.labels), "backend": backend,
                        "finetuned_encoder": encoder_dir is not None, "fit_seconds": round(fit_seconds, 2)})
        if cancel():
            raise Cancelled()
        report("saving", 0, 1, None)
        _save(model, backend=backend, partial=partial, out=out, encoder_dir=encoder_dir,
              meta={"data_hash": dataset.snapshot.hash, "code_version": code_version()})
        report("saving", 1, 1, None)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    seconds = time.perf_counter() - t0
    metrics["training_seconds"] = round(seconds, 2)
    snapshot = dataset.snapshot.to_dict()
    return CandidateResult(artifact_dir=str(out), metrics=metrics, training_seconds=seconds, snapshot=snapshot,
                           model=model)


@dataclass
class _Split:
    texts: list[str]
    labels: list[str]
    embeddings: np.ndarray


def _fit_linear(train: _Split, val: _Split, enc_fn: EncodeFn, p: TrainParams, report: Progress,
                cancel: Callable[[], bool]) -> tuple[Any, dict[str, Any]]:
    model = LinearIntentModel(C=p.C, embedding_weight=p.embedding_weight, oos_threshold=p.oos_threshold,
                              max_iter=p.max_iter, encode=enc_fn)
    model.fit(train.texts, train.labels, embeddings=train.embeddings, progress=report, should_cancel=cancel)
    preds = [parse_prediction(r) for r in model.predict(val.texts, embeddings=val.embeddings)] if val.texts else []
    return model, compute_metrics(val.labels, preds)


def _fit_intent(train: _Split, val: _Split, enc_fn: EncodeFn, p: TrainParams, report: Progress,
                cancel: Callable[[], bool]) -> tuple[Any, dict[str, Any]]:
    from ml.nlu.intent import IntentClassifier

    in_scope = [i for i, lb in enumerate(train.labels) if lb != OUT_OF_SCOPE]
    oos = [i for i, lb in enumerate(train.labels) if lb == OUT_OF_SCOPE]
    texts, labels = [train.texts[i] for i in in_scope], [train.labels[i] for i in in_scope]
    report("fitting", 0, 1, None)
    model = IntentClassifier.train(
        texts, labels, embeddings=train.embeddings[in_scope], encoder=_FnEncoder(enc_fn), params=p.intent_params,
        oos_texts=[train.texts[i] for i in oos] or None, oos_embeddings=train.embeddings[oos] if oos else None,
        max_in_scope_reject=p.max_in_scope_reject)
    if cancel():
        raise Cancelled()
    probs, _sims = model.predict_proba(texts, embeddings=train.embeddings[in_scope])
    report("fitting", 1, 1, _nll(probs, model.classes, labels))
    report("evaluating", 0, 1, None)
    if not val.texts:
        return model, {"n": 0}
    labels_none = [None if lb == OUT_OF_SCOPE else lb for lb in val.labels]
    metrics = model.evaluate(val.texts, labels_none, embeddings=val.embeddings)
    vp, _ = model.predict_proba(val.texts, embeddings=val.embeddings)
    metrics["validation_loss"] = _nll(vp, model.classes, val.labels)
    # The gate's definition (abstentions count as errors), for the registry page.
    preds = [parse_prediction(r) for r in model.predict(val.texts, embeddings=val.embeddings)]
    e2e = compute_metrics(val.labels, preds)
    metrics["end_to_end"] = {k: v for k, v in e2e.items() if k != "confused_pairs"}
    # The out-of-scope operating points on validation (the registry page shows the curve).
    metrics["oos_budget"] = model.info.get("oos_budget")
    metrics["oos_curve"] = model.info.get("oos_curve") or []
    return model, metrics


def _save(model: Any, *, backend: str, partial: Path, out: Path, encoder_dir: Path | None,
          meta: dict[str, Any]) -> None:
    """Write the artifact into `partial`, then rename it to `out` (readers never see half of one)."""
    if backend == "linear":
        model.meta = meta
        if encoder_dir is not None:
            model.encoder_dir = out / "encoder"  # where it will live after the rename
        model.save(partial)
    else:
        model.info.update(meta)
        model.save(partial)
        write_manifest(partial, backend="intent", encoder=encoder_dir is not None, meta=meta)
    partial.rename(out)
