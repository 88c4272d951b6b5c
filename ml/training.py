"""Per-tenant retraining of the intent model and the model registry (issue 6).

The Django side of ``ml.learning``: rows -> ``pipeline.retrain`` (the one orchestration:
redacted, deduplicated, stable-split dataset; candidate training with progress, cancel and
an atomic artifact; gate against the serving model on the *same* validation data; replay
over recent conversations) -> a ``ModelVersion`` that is promoted only when the gate says so.

Safety:
- one active run per tenant: the ``trainingrun_one_active`` constraint is the lock;
- a heartbeat thread bumps ``TrainingRun.heartbeat_at`` while the worker process lives;
  ``reap_stale_runs`` marks runs whose heartbeat stopped (a killed worker) as failed, so
  the lock frees itself and the next attempt can start;
- promotion is one short transaction at the very end, after the run is checked to be
  still ours (not cancelled, not reaped): a crash anywhere before leaves the serving
  version untouched (inference processes only ever see a complete artifact).
"""

from __future__ import annotations

import functools
import logging
import subprocess
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, close_old_connections, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from ml.models import (
    ACTIVE_RUN_STATUSES,
    AIPolicy,
    AnalyzedMessage,
    Intent,
    IntentExample,
    ModelStatus,
    ModelVersion,
    RetrainSchedule,
    RunStatus,
    RunTrigger,
    TrainingExample,
    TrainingRun,
)
from tenants.errors import ServiceError
from tenants.models import Membership
from tenants.services import check_admin, locked_owned

logger = logging.getLogger(__name__)

HEARTBEAT_S = 5.0
SCHEDULE_INTERVALS = {
    RetrainSchedule.HOURLY: timedelta(hours=1),
    RetrainSchedule.NIGHTLY: timedelta(hours=23),
    RetrainSchedule.WEEKLY: timedelta(days=7) - timedelta(hours=1),
}
REPLAY_CONVERSATIONS = 200
# Extra keyword arguments for ml.learning.trainer.train_candidate (backend, params);
# empty = the default IntentClassifier path (tests and benches may set it).
TRAIN_OPTIONS: dict[str, Any] = {}


def stale_after() -> timedelta:
    """A running run with no heartbeat for this long belongs to a dead worker."""
    return timedelta(seconds=float(settings.KEFU_TRAINING_STALE_S))


def queued_stale_after() -> timedelta:
    return timedelta(seconds=float(settings.KEFU_TRAINING_QUEUED_STALE_S))


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """The git commit when the code runs from a checkout, else the hash of ml.learning."""
    from ml.learning.trainer import code_version as learning_version

    try:
        out = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=settings.BASE_DIR, capture_output=True,
                             text=True, timeout=5, check=True)
        commit = out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return f"git:{commit} learning:{learning_version()}" if commit else f"learning:{learning_version()}"


# --- data ---------------------------------------------------------------------------------------


def training_records(*, tenant_id: int) -> list[Any]:
    """Admin examples + agent relabels + confirmed bot turns, as ``dataset.Record``s.
    (A deleted visitor's rows are gone already: ml.api.forget_conversations.)"""
    from ml.learning.dataset import Record

    records = [
        Record(text=text, label=name, source="example", created_at=created.isoformat(), record_id=f"ex{pk}")
        for pk, name, text, created in IntentExample.objects.for_tenant(tenant_id)
        .order_by("pk").values_list("pk", "intent__name", "text", "created_at")
    ]
    records += [
        Record(text=text, label=label, source=source, created_at=created.isoformat(), record_id=f"te{pk}")
        for pk, text, label, source, created in TrainingExample.objects.for_tenant(tenant_id)
        .order_by("pk").values_list("pk", "text", "label", "source", "created_at")
    ]
    return records


def build_dataset(*, tenant_id: int) -> Any:
    from ml.learning.dataset import build_training_set

    return build_training_set(training_records(tenant_id=tenant_id))


def replay_messages(*, tenant_id: int, conversations: int = REPLAY_CONVERSATIONS) -> list[dict[str, Any]]:
    """Visitor messages of the tenant's last ``conversations`` analysed conversations."""
    recent = list(
        AnalyzedMessage.objects.for_tenant(tenant_id).order_by("-created_at")
        .values_list("conversation_id", flat=True)[: conversations * 20]
    )
    conv_ids = list(dict.fromkeys(recent))[:conversations]
    rows = AnalyzedMessage.objects.for_tenant(tenant_id).filter(conversation_id__in=conv_ids).order_by("created_at")
    return [{"text": m.text, "serving_intent": m.intent or None, "serving_confidence": m.confidence,
             "action": m.action, "handoff_reason": m.handoff_reason or None, "message_id": m.message_id,
             "conversation_id": m.conversation_id} for m in rows]


def _replay_policy(tenant_id: int) -> dict[str, Any]:
    from ml import selectors

    policy = selectors.policy_dict(tenant=tenant_id)
    return {"confidence_threshold": policy["confidence_threshold"],
            "handoff_on_out_of_scope": policy["handoff_on_out_of_scope"],
            "escalating_intents": list(Intent.objects.for_tenant(tenant_id).filter(escalates=True)
                                       .values_list("name", flat=True))}


# --- runs ------------------------------------------------------------------------------------------


def _runs(tenant_id: int) -> Any:
    return TrainingRun.objects.for_tenant(tenant_id)


def reap_stale_runs(*, tenant_id: int | None = None) -> int:
    """Mark runs of dead workers failed (frees the per-tenant lock). Returns how many."""
    now = timezone.now()
    cutoff = now - stale_after()
    qs = TrainingRun.all_tenants.filter(
        Q(status=RunStatus.RUNNING) & (Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, created_at__lt=cutoff))
        | Q(status=RunStatus.QUEUED, created_at__lt=now - queued_stale_after())
    )
    if tenant_id is not None:
        qs = qs.filter(tenant_id=tenant_id)
    n = qs.update(status=RunStatus.FAILED, finished_at=now,
                  message="The training worker stopped responding (no heartbeat); the serving version is untouched.")
    if n:
        logger.warning("reaped %s stale training run(s)%s", n, f" of tenant {tenant_id}" if tenant_id else "")
    return n


def start_retrain(*, tenant_id: int, trigger: str = RunTrigger.MANUAL) -> TrainingRun | None:
    """Create a queued run and enqueue ``retrain_tenant`` on commit (None when one is
    already active: the DB constraint is the lock)."""
    from ml import tasks

    return queue_run(tenant_id=tenant_id, kind="intent", trigger=trigger, task=tasks.retrain_tenant)


def queue_run(*, tenant_id: int, kind: str, trigger: str, task: Any) -> TrainingRun | None:
    """Reap stale runs, create a queued run of `kind` and enqueue `task(tenant_id, run_pk)` on
    commit (None when a run of that kind is already active: the DB constraint is the lock)."""
    from tenants.dispatch import enqueue

    reap_stale_runs(tenant_id=tenant_id)
    try:
        with transaction.atomic():
            run = TrainingRun.objects.create(tenant_id=tenant_id, kind=kind, status=RunStatus.QUEUED, trigger=trigger,
                                             stage="queued")
            enqueue(task, tenant_id, run.pk)
    except IntegrityError:
        return None
    return run


def request_retrain(*, actor: Membership) -> TrainingRun:
    check_admin(actor)
    run = start_retrain(tenant_id=actor.tenant_id, trigger=RunTrigger.MANUAL)
    if run is None:
        raise ServiceError(_("A retrain is already running."), code="conflict")
    return run


def cancel_run(*, actor: Membership, run_id: int) -> TrainingRun:
    """A queued run is cancelled at once; a running one stops at its next check."""
    check_admin(actor)
    run = _runs(actor.tenant_id).filter(pk=run_id).first()
    if run is None:
        raise ServiceError(_("Training run not found."), code="not_found")
    if run.status not in ACTIVE_RUN_STATUSES:
        raise ServiceError(_("This training run has already finished."), code="invalid")
    _runs(actor.tenant_id).filter(pk=run_id, status=RunStatus.QUEUED).update(
        status=RunStatus.CANCELLED, cancel_requested=True, finished_at=timezone.now(), message=_("Cancelled before it started."))
    _runs(actor.tenant_id).filter(pk=run_id, status=RunStatus.RUNNING).update(cancel_requested=True)
    run.refresh_from_db()
    return run


class _Heartbeat:
    """Bumps the run's heartbeat from a thread while this process lives."""

    def __init__(self, tenant_id: int, run_id: int) -> None:
        self.tenant_id, self.run_id = tenant_id, run_id
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._beat, name=f"heartbeat-run-{run_id}", daemon=True)

    def _beat(self) -> None:
        try:
            while not self.stop.wait(HEARTBEAT_S):
                _runs(self.tenant_id).filter(pk=self.run_id, status=RunStatus.RUNNING).update(heartbeat_at=timezone.now())
        except Exception:  # noqa: BLE001 - the main thread's own progress writes beat too
            logger.exception("heartbeat of training run %s stopped", self.run_id)
        finally:
            close_old_connections()

    def __enter__(self) -> _Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(10)


class _RunReporter:
    """``progress``/``should_cancel`` callbacks for the trainer, throttled DB writes."""

    def __init__(self, tenant_id: int, run_id: int) -> None:
        self.tenant_id, self.run_id = tenant_id, run_id
        self.last_write = 0.0
        self.last_stage = ""
        self.last_check = 0.0
        self.cancelled = False

    def progress(self, stage: str, step: int, total: int, loss: float | None) -> None:
        now = time.monotonic()
        if stage == self.last_stage and now - self.last_write < 0.3 and step < total:
            return
        self.last_stage, self.last_write = stage, now
        fields: dict[str, Any] = {"stage": stage, "step": step, "total_steps": total, "heartbeat_at": timezone.now()}
        if loss is not None:
            fields["loss"] = round(float(loss), 5)
        _runs(self.tenant_id).filter(pk=self.run_id, status=RunStatus.RUNNING).update(**fields)

    def should_cancel(self) -> bool:
        now = time.monotonic()
        if not self.cancelled and now - self.last_check >= 0.3:
            self.last_check = now
            row = _runs(self.tenant_id).filter(pk=self.run_id).values_list("status", "cancel_requested").first()
            self.cancelled = row is None or row[0] != RunStatus.RUNNING or bool(row[1])
        return self.cancelled


def _claim(tenant_id: int, run_id: int | None, trigger: str) -> int | None:
    now = timezone.now()
    if run_id is None:
        try:
            with transaction.atomic():
                run = TrainingRun.objects.create(tenant_id=tenant_id, kind="intent", status=RunStatus.RUNNING, trigger=trigger,
                                                 stage="starting", started_at=now, heartbeat_at=now)
        except IntegrityError:
            return None
        return run.pk
    claimed = _runs(tenant_id).filter(pk=run_id, status=RunStatus.QUEUED).update(
        status=RunStatus.RUNNING, stage="starting", started_at=now, heartbeat_at=now)
    return run_id if claimed else None


def _finish(tenant_id: int, run_id: int, **fields: Any) -> None:
    _runs(tenant_id).filter(pk=run_id, status=RunStatus.RUNNING).update(finished_at=timezone.now(), **fields)


def retrain_tenant(*, tenant_id: int, run_id: int | None = None, trigger: str = RunTrigger.MANUAL) -> int | None:
    """Train, evaluate, register and maybe promote. Returns the new ModelVersion's pk."""
    reap_stale_runs(tenant_id=tenant_id)
    claimed = _claim(tenant_id, run_id, trigger)
    if claimed is None:  # already taken (redelivery), cancelled, reaped, or another run active
        return None
    out_dir = Path(settings.KEFU_MODEL_DIR) / f"tenant-{tenant_id}" / f"intent-run{claimed}"
    return run_claimed(
        tenant_id, claimed, lambda reporter: _train_and_register(tenant_id, claimed, reporter, out_dir, trigger),
        what="retrain",
    )


def run_claimed(tenant_id: int, claimed: int, train: Callable[[Any], int | None], *, what: str) -> int | None:
    """`train(reporter)` for a claimed run, under its heartbeat: a cancel marks the run
    cancelled, any other failure marks it failed (logged as `what`); serving is untouched
    either way. The new ModelVersion's pk, or None."""
    from ml.learning.trainer import Cancelled

    reporter = _RunReporter(tenant_id, claimed)
    try:
        with _Heartbeat(tenant_id, claimed):
            return train(reporter)
    except Cancelled:
        _runs(tenant_id).filter(pk=claimed, status=RunStatus.RUNNING).update(
            status=RunStatus.CANCELLED, stage="cancelled", finished_at=timezone.now(), message=_("Cancelled."))
        return None
    except Exception as exc:  # noqa: BLE001 - recorded on the run; serving is untouched
        logger.exception("%s of tenant %s (run %s) failed", what, tenant_id, claimed)
        _finish(tenant_id, claimed, status=RunStatus.FAILED, message=f"{type(exc).__name__}: {exc}"[:500])
        return None


def _serving_version(tenant_id: int, *, lock: bool = False) -> ModelVersion | None:
    qs = ModelVersion.objects.for_tenant(tenant_id).filter(kind="intent", status=ModelStatus.SERVING)
    return (qs.select_for_update() if lock else qs).first()


def _train_and_register(tenant_id: int, run_id: int, reporter: _RunReporter, out_dir: Path,
                        trigger: str = RunTrigger.MANUAL) -> int | None:
    from ml.learning import pipeline, trainer

    reporter.progress("snapshot", 0, 1, None)
    serving = _serving_version(tenant_id)
    latest = ModelVersion.objects.for_tenant(tenant_id).filter(kind="intent").order_by("-version").first()
    policy = AIPolicy.objects.for_tenant(tenant_id).first()
    messages = replay_messages(tenant_id=tenant_id)
    outcome = pipeline.retrain(
        training_records(tenant_id=tenant_id), out_dir=out_dir,
        serving_artifact_dir=serving.artifact_path if serving is not None and serving.artifact_path else None,
        serving_snapshot=latest.snapshot if latest is not None and latest.snapshot else None,
        scheduled=trigger == RunTrigger.SCHEDULED, min_new=policy.retrain_min_new if policy else 20,
        replay_messages=messages or None, replay_policy=_replay_policy(tenant_id),
        progress=reporter.progress, should_cancel=reporter.should_cancel, **_train_options(policy))
    if outcome.candidate is None:
        message = (_("Need at least two intents with examples to train a model.")
                   if outcome.skipped == pipeline.TOO_FEW_INTENTS else outcome.reason)
        _finish(tenant_id, run_id, status=RunStatus.DONE, stage="skipped", message=message)
        return None
    if reporter.should_cancel():
        raise trainer.Cancelled()
    return _register(tenant_id, run_id, outcome, serving_before=serving)


def _train_options(policy: AIPolicy | None) -> dict[str, Any]:
    """TRAIN_OPTIONS, with the tenant's out-of-scope budget in the params."""
    import dataclasses

    from ml.learning.trainer import TrainParams

    params = TRAIN_OPTIONS.get("params") or TrainParams()
    if policy is not None:
        params = dataclasses.replace(params, max_in_scope_reject=float(policy.oos_max_in_scope_reject))
    return {**TRAIN_OPTIONS, "params": params}


def _register(tenant_id: int, run_id: int, outcome: Any, *, serving_before: ModelVersion | None) -> int:
    """Store the candidate as the next version; serve it when the gate passed and nothing
    changed meanwhile (the run is still ours, the serving version is the one gated against)."""
    candidate = outcome.candidate
    extra = {k: candidate.metrics.get(k) for k in ("n_train", "n_validation", "labels", "backend",
                                                   "finetuned_encoder", "fit_seconds", "training_seconds",
                                                   "oos_budget", "oos_curve")}
    metrics = {**outcome.gate["candidate"], **extra, "dataset_stats": outcome.data_stats,
               "model_eval": {k: v for k, v in candidate.metrics.items() if isinstance(v, int | float)}}
    with transaction.atomic():
        run = _runs(tenant_id).select_for_update().filter(pk=run_id).first()
        current = _serving_version(tenant_id, lock=True)
        still_ours = run is not None and run.status == RunStatus.RUNNING and not run.cancel_requested
        unchanged = current is None or serving_before is None or current.pk == serving_before.pk
        promote = outcome.promote and still_ours and unchanged
        reason = outcome.reason
        if outcome.promote and not promote:
            reason = _("Passed the gate, but not promoted: the run was cancelled or the serving version changed meanwhile.")
        number = (ModelVersion.objects.for_tenant(tenant_id).filter(kind="intent").order_by("-version")
                  .values_list("version", flat=True).first() or 0) + 1
        version = ModelVersion.objects.create(
            tenant_id=tenant_id, kind="intent", version=number, status=ModelStatus.CANDIDATE, metrics=metrics,
            serving_metrics=outcome.gate["serving"] or {}, data_hash=outcome.snapshot.get("hash", ""),
            code_version=code_version()[:64], artifact_path=str(candidate.artifact_dir),
            training_seconds=round(candidate.training_seconds, 2), reason=reason, snapshot=outcome.snapshot,
            replay=outcome.replay or {"messages": 0}, training_run_id=run_id,
        )
        if promote:
            _make_serving(tenant_id, version, current)
        if run is not None and run.status == RunStatus.RUNNING:
            _runs(tenant_id).filter(pk=run_id).update(
                status=RunStatus.DONE, stage="done", step=1, total_steps=1, model_version=version,
                finished_at=timezone.now(),
                message=(_("v%(n)s promoted: %(r)s") if promote else _("v%(n)s kept as a candidate: %(r)s"))
                % {"n": number, "r": reason})
    return version.pk


def _make_serving(tenant_id: int, version: ModelVersion, current: ModelVersion | None) -> None:
    versions = ModelVersion.objects.for_tenant(tenant_id)
    if current is not None and current.pk != version.pk:
        versions.filter(pk=current.pk).update(status=ModelStatus.RETIRED)
    versions.filter(pk=version.pk).update(status=ModelStatus.SERVING, promoted_at=timezone.now())


def serve_version(*, actor: Membership, version_id: int) -> ModelVersion:
    """One-click rollback (or manual promotion): serve ``version_id`` from now on.
    Inference processes pick it up on their next call (ml.serving compares the serving pk)."""
    check_admin(actor)
    tenant_id = actor.tenant_id
    with transaction.atomic():
        version = locked_owned(ModelVersion, _("Model version not found."), tenant=tenant_id, pk=version_id)
        if version.status == ModelStatus.SERVING:
            raise ServiceError(_("This version is already serving."), code="invalid")
        if version.status == ModelStatus.FAILED or not version.artifact_path or not Path(version.artifact_path).is_dir():
            raise ServiceError(_("This version has no usable model files."), code="invalid")
        current = (ModelVersion.objects.for_tenant(tenant_id).select_for_update()
                   .filter(kind=version.kind, status=ModelStatus.SERVING).first())
        _make_serving(tenant_id, version, current)
        note = _("Served by %(who)s on %(when)s (was v%(prev)s).") % {
            "who": actor.user.get_username() if actor.user_id else _("an API key"), "when": timezone.now().strftime("%Y-%m-%d %H:%M"),
            "prev": current.version if current else "—"}
        ModelVersion.objects.for_tenant(tenant_id).filter(pk=version.pk).update(reason=f"{version.reason}\n{note}".strip())
    version.refresh_from_db()
    return version


def use_starting_model(*, actor: Membership) -> None:
    """Roll back past every trained version: serve the model built from the examples."""
    check_admin(actor)
    ModelVersion.objects.for_tenant(actor.tenant_id).filter(kind="intent", status=ModelStatus.SERVING).update(
        status=ModelStatus.RETIRED)


# --- schedule -----------------------------------------------------------------------------------


def check_schedule(*, tenant_id: int, now: Any = None) -> tuple[bool, str]:
    """Whether a scheduled retrain of this tenant is due and worth it (and why not)."""
    from ml.learning.dataset import enough_new_data

    now = now or timezone.now()
    policy = AIPolicy.objects.for_tenant(tenant_id).first()
    schedule = policy.retrain_schedule if policy else RetrainSchedule.NIGHTLY
    min_new = policy.retrain_min_new if policy else 20
    if schedule == RetrainSchedule.OFF:
        return False, "schedule is off"
    last = _runs(tenant_id).filter(trigger=RunTrigger.SCHEDULED).order_by("-created_at").first()
    if last is not None and now - last.created_at < SCHEDULE_INTERVALS[RetrainSchedule(schedule)]:
        return False, "not due yet"
    latest = ModelVersion.objects.for_tenant(tenant_id).filter(kind="intent").order_by("-version").first()
    check = enough_new_data(latest.snapshot if latest and latest.snapshot else None,
                            build_dataset(tenant_id=tenant_id), min_new=min_new)
    return check.retrain, check.reason


def schedule_retraining() -> int:
    """Beat: enqueue a retrain for each tenant whose schedule is due and that has enough
    new labelled data since its latest version. Returns how many were enqueued."""
    from tenants.models import Tenant

    reap_stale_runs()
    started = 0
    for tenant_id in Tenant.objects.order_by("pk").values_list("pk", flat=True):  # not tenant-owned
        try:
            due, reason = check_schedule(tenant_id=tenant_id)
        except Exception:  # noqa: BLE001 - one tenant's bad data must not stop the others
            logger.exception("schedule check failed for tenant %s", tenant_id)
            continue
        if not due:
            logger.info("tenant %s: no scheduled retrain (%s)", tenant_id, reason)
            continue
        if start_retrain(tenant_id=tenant_id, trigger=RunTrigger.SCHEDULED) is not None:
            started += 1
    return started
