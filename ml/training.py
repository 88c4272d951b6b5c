"""Per-tenant retraining of the intent model and the model registry (issue 6, first cut).

retrain_tenant: snapshot the tenant's labelled examples -> deterministic train/validation
split -> fit a linear head on MiniLM embeddings -> evaluate -> register a ModelVersion ->
promote only if it beats the serving version on the same validation data by a margin.
A crash leaves the serving version untouched (promotion is one transaction at the end).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from ml import selectors
from ml.models import ModelStatus, ModelVersion, TrainingRun

logger = logging.getLogger(__name__)
PROMOTION_MARGIN = 0.01
MIN_NEW_EXAMPLES = 20


def _split(examples: list[tuple[str, str]]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    train: list[tuple[str, str]] = []
    val: list[tuple[str, str]] = []
    for label, text in examples:
        bucket = int(hashlib.sha256(f"{label}|{text}".encode()).hexdigest()[:8], 16) % 5
        (val if bucket == 0 else train).append((label, text))
    labels_in_train = {label for label, _t in train}
    # every intent keeps at least one training example
    for item in list(val):
        if item[0] not in labels_in_train:
            val.remove(item)
            train.append(item)
            labels_in_train.add(item[0])
    return train, val


def _progress(run: TrainingRun, **fields: object) -> None:
    TrainingRun.objects.for_tenant(run.tenant_id).filter(pk=run.pk).update(**fields)


def start_retrain(*, tenant_id: int) -> TrainingRun | None:
    """Create a queued run (None when one is already active: the DB constraint is the lock)."""
    from config.dispatch import enqueue
    from ml import tasks

    try:
        with transaction.atomic():
            run = TrainingRun.objects.create(tenant_id=tenant_id, kind="intent", status="queued")
            enqueue(tasks.retrain_tenant, tenant_id, run.pk)
    except IntegrityError:
        return None
    return run


def retrain_tenant(*, tenant_id: int, run_id: int | None = None) -> int | None:
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    from ml.serving import encode

    if run_id is None:
        try:
            run = TrainingRun.objects.create(tenant_id=tenant_id, kind="intent", status="running")
        except IntegrityError:
            return None
    else:
        found = TrainingRun.objects.for_tenant(tenant_id).filter(pk=run_id).first()
        if found is None or found.status not in ("queued", "running"):
            return None
        run = found
    t0 = time.perf_counter()
    try:
        _progress(run, status="running", stage="snapshot", step=0, total_steps=4)
        examples = selectors.training_examples(tenant=tenant_id)
        data_hash = hashlib.sha256(json.dumps(sorted(examples)).encode()).hexdigest()
        train, val = _split(examples)
        labels = sorted({label for label, _t in train})
        if len(labels) < 2:
            _progress(run, status="done", stage="skipped", message="Need at least two intents with examples.",
                      finished_at=timezone.now())
            return None
        _progress(run, stage="embedding", step=1)
        x_train = encode([t for _l, t in train])
        y_train = [label for label, _t in train]
        if TrainingRun.objects.for_tenant(tenant_id).filter(pk=run.pk, cancel_requested=True).exists():
            _progress(run, status="cancelled", finished_at=timezone.now())
            return None
        _progress(run, stage="fitting", step=2)
        clf = LogisticRegression(C=10.0, max_iter=2000).fit(x_train, y_train)
        _progress(run, stage="evaluating", step=3)
        metrics: dict[str, object] = {"train_size": len(train), "validation_size": len(val), "intents": len(labels)}
        if val:
            x_val = encode([t for _l, t in val])
            y_val = [label for label, _t in val]
            pred = clf.predict(x_val)
            metrics["accuracy"] = round(float(np.mean([p == y for p, y in zip(pred, y_val, strict=False)])), 4)
        version_no = (ModelVersion.objects.for_tenant(tenant_id).filter(kind="intent").order_by("-version")
                      .values_list("version", flat=True).first() or 0) + 1
        directory = Path(settings.KEFU_MODEL_DIR) / f"tenant-{tenant_id}" / f"intent-v{version_no}"
        directory.mkdir(parents=True, exist_ok=True)
        np.savez(directory / "head.npz", coef=clf.coef_, intercept=clf.intercept_, classes=np.asarray(clf.classes_))
        with transaction.atomic():
            serving = (ModelVersion.objects.for_tenant(tenant_id).select_for_update()
                       .filter(kind="intent", status=ModelStatus.SERVING).first())
            version = ModelVersion.objects.create(
                tenant_id=tenant_id, kind="intent", version=version_no, metrics=metrics, data_hash=data_hash,
                code_version="lr-minilm-1", artifact_path=str(directory),
                training_seconds=round(time.perf_counter() - t0, 2),
            )
            new_acc = float(metrics.get("accuracy", 0.0))  # type: ignore[arg-type]
            old_acc = float((serving.metrics or {}).get("accuracy", -1.0)) if serving else -1.0
            if serving is None or new_acc >= old_acc + PROMOTION_MARGIN:
                if serving is not None:
                    ModelVersion.objects.for_tenant(tenant_id).filter(pk=serving.pk).update(status=ModelStatus.RETIRED)
                ModelVersion.objects.for_tenant(tenant_id).filter(pk=version.pk).update(
                    status=ModelStatus.SERVING, promoted_at=timezone.now(), reason="beats the serving version"
                    if serving else "first version")
            else:
                ModelVersion.objects.for_tenant(tenant_id).filter(pk=version.pk).update(
                    reason=f"accuracy {new_acc:.3f} does not beat serving {old_acc:.3f} by {PROMOTION_MARGIN}")
            _progress(run, status="done", stage="done", step=4, model_version=version, finished_at=timezone.now())
        return version.pk
    except Exception as exc:
        _progress(run, status="failed", message=str(exc)[:500], finished_at=timezone.now())
        raise


def schedule_retraining() -> int:
    """Beat: enqueue a retrain for tenants with enough new examples since their last version."""
    from ml.models import IntentExample
    from tenants.models import Tenant

    started = 0
    for tenant in Tenant.objects.all():  # Tenant is not tenant-owned: one row per tenant
        last = ModelVersion.objects.for_tenant(tenant).filter(kind="intent").order_by("-created_at").first()
        new = IntentExample.objects.for_tenant(tenant)
        if last is not None:
            new = new.filter(created_at__gt=last.created_at)
        if new.count() >= MIN_NEW_EXAMPLES and start_retrain(tenant_id=tenant.pk) is not None:
            started += 1
    return started
