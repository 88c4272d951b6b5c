"""Per-tenant retrieval model: confirmed question -> article pairs in, a registered
``ModelVersion(kind="retrieval")`` out (issue 12). The Django side of
``ml.learning.retrieval``, on the same registry and run machinery as intent retraining
(``ml.training``): one active run per tenant and kind (the DB constraint is the lock), a
heartbeat so a killed worker's run is reaped, promotion in one short transaction at the
end. Serving picks a promoted version up on its next message (``ml.serving`` compares
the serving pk); rolling back is ``ml.training.serve_version`` or ``use_frozen_retrieval``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ml.models import (
    KnowledgeArticle,
    ModelStatus,
    ModelVersion,
    RetrievalPair,
    RetrievalPairSource,
    RunStatus,
    RunTrigger,
    TrainingRun,
)
from tenants.errors import ServiceError
from tenants.models import Membership
from tenants.services import check_admin

logger = logging.getLogger(__name__)

KIND = "retrieval"
# Extra keyword arguments for ml.learning.retrieval.retrain_retrieval (tests: params, min_pairs).
TRAIN_OPTIONS: dict[str, Any] = {}


# --- intake -----------------------------------------------------------------------------------------


def record_retrieval_pair(*, tenant_id: int, question: str, article_id: int, source: str,
                          message_id: int | None = None, conversation_id: int | None = None) -> RetrievalPair | None:
    """A question confirmed to be answered by one of the tenant's articles (thumbs-up or
    "solved" on a cited answer, an agent accepting a suggested article, an imported FAQ
    pair, a relabel). The question is redacted; one pair per message and source."""
    from ml.feedback import _redact

    if source not in RetrievalPairSource.values:
        raise ServiceError(_("Unknown pair source."), code="invalid")
    if not KnowledgeArticle.objects.for_tenant(tenant_id).filter(pk=article_id, deleted_at__isnull=True).exists():
        raise ServiceError(_("Article not found."), code="not_found")
    red = _redact(question)
    if not red:
        return None
    if message_id is None:
        return RetrievalPair.objects.create(tenant_id=tenant_id, question=red, article_id=article_id, source=source,
                                            conversation_id=conversation_id)
    pair, _created = RetrievalPair.objects.update_or_create(
        tenant_id=tenant_id, source=source, message_id=message_id,
        defaults={"question": red, "article_id": article_id, "conversation_id": conversation_id})
    return pair


def training_pairs(*, tenant_id: int) -> list[dict[str, Any]]:
    """The tenant's pairs on live articles, oldest first (a newer label of the same
    question wins in ``split_pairs``), with the article's language."""
    rows = (RetrievalPair.objects.for_tenant(tenant_id).filter(article__deleted_at__isnull=True).order_by("pk")
            .values_list("question", "article_id", "source", "article__language"))
    return [{"question": q, "article_id": str(a), "source": s, "language": (lang or "en").split("-")[0].lower()}
            for q, a, s, lang in rows]


# --- runs ---------------------------------------------------------------------------------------------


def serving_version(tenant_id: int, *, lock: bool = False) -> ModelVersion | None:
    qs = ModelVersion.objects.for_tenant(tenant_id).filter(kind=KIND, status=ModelStatus.SERVING)
    return (qs.select_for_update() if lock else qs).first()


def start_retrain_retrieval(*, tenant_id: int, trigger: str = RunTrigger.MANUAL) -> TrainingRun | None:
    """A queued run + the task on commit (None when one is already active)."""
    from ml import tasks
    from ml.training import queue_run

    return queue_run(tenant_id=tenant_id, kind=KIND, trigger=trigger, task=tasks.retrain_retrieval)


def request_retrain_retrieval(*, actor: Membership) -> TrainingRun:
    check_admin(actor)
    run = start_retrain_retrieval(tenant_id=actor.tenant_id)
    if run is None:
        raise ServiceError(_("A retrain is already running."), code="conflict")
    return run


def _claim(tenant_id: int, run_id: int | None) -> int | None:
    now = timezone.now()
    runs = TrainingRun.objects.for_tenant(tenant_id)
    if run_id is None:
        try:
            with transaction.atomic():
                return runs.create(tenant_id=tenant_id, kind=KIND, status=RunStatus.RUNNING, stage="starting",
                                   started_at=now, heartbeat_at=now).pk
        except IntegrityError:
            return None
    claimed = runs.filter(pk=run_id, kind=KIND, status=RunStatus.QUEUED).update(
        status=RunStatus.RUNNING, stage="starting", started_at=now, heartbeat_at=now)
    return run_id if claimed else None


def retrain_retrieval(*, tenant_id: int, run_id: int | None = None) -> int | None:
    """Train, gate, register and maybe promote. Returns the new ModelVersion's pk."""
    from ml.training import reap_stale_runs, run_claimed

    reap_stale_runs(tenant_id=tenant_id)
    claimed = _claim(tenant_id, run_id)
    if claimed is None:
        return None
    out_dir = Path(settings.KEFU_MODEL_DIR) / f"tenant-{tenant_id}" / f"retrieval-run{claimed}"
    return run_claimed(
        tenant_id, claimed, lambda reporter: _train_and_register(tenant_id, claimed, reporter, out_dir),
        what="retrieval retrain",
    )


def _train_and_register(tenant_id: int, run_id: int, reporter: Any, out_dir: Path) -> int | None:
    from ml import serving
    from ml.learning.retrieval import QueryAdapter
    from ml.learning.retrieval import retrain_retrieval as learn
    from ml.training import _finish

    reporter.progress("snapshot", 0, 1, None)
    current = serving_version(tenant_id)
    adapter = None
    if current is not None:
        try:
            adapter = QueryAdapter.load(current.artifact_path)
        except Exception:  # noqa: BLE001 - a broken serving artifact is gated against the frozen encoder
            logger.exception("cannot load retrieval version %s; gating against the frozen encoder", current.pk)
    outcome = learn(training_pairs(tenant_id=tenant_id), index=serving.base_index(tenant_id), encode=serving.encode,
                    out_dir=out_dir, serving=adapter, progress=reporter.progress,
                    should_cancel=reporter.should_cancel, **TRAIN_OPTIONS)
    if not outcome.trained:
        _finish(tenant_id, run_id, status=RunStatus.DONE, stage="skipped", message=outcome.reason)
        return None
    return _register(tenant_id, run_id, outcome, serving_before=current)


def _register(tenant_id: int, run_id: int, outcome: Any, *, serving_before: ModelVersion | None) -> int:
    """The candidate as the next version; served when the gate passed and nothing changed."""
    from ml.training import _make_serving, code_version

    runs = TrainingRun.objects.for_tenant(tenant_id)
    versions = ModelVersion.objects.for_tenant(tenant_id)
    with transaction.atomic():
        run = runs.select_for_update().filter(pk=run_id).first()
        current = serving_version(tenant_id, lock=True)
        still_ours = run is not None and run.status == RunStatus.RUNNING and not run.cancel_requested
        unchanged = (current.pk if current else None) == (serving_before.pk if serving_before else None)
        promote = outcome.promote and still_ours and unchanged
        reason = outcome.reason if promote or not outcome.promote else _(
            "Passed the gate, but not promoted: the run was cancelled or the serving version changed meanwhile.")
        number = (versions.filter(kind=KIND).order_by("-version").values_list("version", flat=True).first() or 0) + 1
        version = versions.create(
            tenant_id=tenant_id, kind=KIND, version=number, status=ModelStatus.CANDIDATE,
            metrics={**outcome.gate["candidate"], **{k: v for k, v in outcome.stats.items() if k != "training"},
                     "training": outcome.stats.get("training", {})},
            serving_metrics=outcome.gate["serving"], data_hash=outcome.stats.get("validation_hash", ""),
            code_version=code_version()[:64], artifact_path=outcome.artifact_dir,
            training_seconds=round(outcome.training_seconds, 2), reason=reason, training_run_id=run_id)
        if promote:
            _make_serving(tenant_id, version, current)
        if still_ours:
            runs.filter(pk=run_id).update(
                status=RunStatus.DONE, stage="done", step=1, total_steps=1, model_version=version,
                finished_at=timezone.now(),
                message=(_("v%(n)s promoted: %(r)s") if promote else _("v%(n)s kept as a candidate: %(r)s"))
                % {"n": number, "r": reason})
    return version.pk


def use_frozen_retrieval(*, actor: Membership) -> None:
    """Roll back past every learned version: search with the frozen encoder again."""
    check_admin(actor)
    ModelVersion.objects.for_tenant(actor.tenant_id).filter(kind=KIND, status=ModelStatus.SERVING).update(
        status=ModelStatus.RETIRED)


def record_import_pairs(*, tenant_id: int, articles: list[KnowledgeArticle]) -> int:
    """A CSV import's question/answer rows: each article's title is its question."""
    from ml.feedback import _redact

    pairs = [RetrievalPair(tenant_id=tenant_id, question=q, article_id=a.pk, source=RetrievalPairSource.FAQ_IMPORT)
             for a in articles if (q := _redact(a.title))]
    RetrievalPair.objects.bulk_create(pairs)
    return len(pairs)
