"""A real Celery training worker killed with SIGKILL in the middle of a retrain leaves
the serving model untouched; the dead run is reaped and the next retrain, on a fresh
worker, completes. Real MiniLM and Banking77 examples (tests/learning_django fixtures)."""

from __future__ import annotations

import time

import pytest

from ml import training
from ml.models import ModelStatus, ModelVersion, TrainingRun
from tests.learning_django.conftest import _model_dir_and_state, banking, seed_intents  # noqa: F401
from tests.processes import celery_worker

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]


def _serving(team):
    return ModelVersion.objects.for_tenant(team.tenant).filter(status=ModelStatus.SERVING).first()


def _wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def test_killed_training_worker_leaves_serving_model_untouched(team_a, banking, settings, tmp_path):  # noqa: F811
    from config.celery import app as celery_app

    if not settings.REDIS_URL:
        pytest.skip("needs REDIS_URL (make test sets it)")
    seed_intents(team_a, banking, per_intent=6)
    # v1, trained in this process, is serving.
    run = training.start_retrain(tenant_id=team_a.tenant.pk)
    training.retrain_tenant(tenant_id=team_a.tenant.pk, run_id=run.pk)
    v1 = _serving(team_a)
    assert v1 is not None and v1.version == 1

    settings.KEFU_TASK_MODE = "celery"
    celery_app.control.purge()
    env = {"KEFU_MODEL_DIR": str(settings.KEFU_MODEL_DIR), "KEFU_BROKER_VISIBILITY_TIMEOUT": "4"}
    with celery_worker(tmp_path, queues="training", **env) as worker:
        run2 = training.start_retrain(tenant_id=team_a.tenant.pk)
        assert run2 is not None
        # Wait until the worker is inside the training itself, then kill it.
        _wait_for(
            lambda: TrainingRun.objects.for_tenant(team_a.tenant).filter(pk=run2.pk, status="running", step__gt=0).exists(),
            240, "the retrain to start on the worker",
        )
        worker.kill()
        time.sleep(1)
        assert _serving(team_a).pk == v1.pk
        assert ModelVersion.objects.for_tenant(team_a.tenant).count() == 1, "nothing half-trained was registered"

        # The dead run holds the per-tenant lock until its heartbeat goes stale; then it is
        # reaped and a new retrain on a fresh worker completes.
        settings.KEFU_TRAINING_STALE_S = 3
        time.sleep(4)
        worker.start()
        run3 = _wait_for(lambda: training.start_retrain(tenant_id=team_a.tenant.pk), 30, "the lock to be freed")
        done = _wait_for(
            lambda: TrainingRun.objects.for_tenant(team_a.tenant).filter(pk=run3.pk, status__in=["done", "failed"]).first(),
            300, "the second retrain to finish",
        )
    assert done.status == "done", done.message
    run2.refresh_from_db()
    assert run2.status == "failed"
    assert ModelVersion.objects.for_tenant(team_a.tenant).count() == 2
    # Serving is v1 or, if the gate promoted it, v2: never a half-written model.
    serving = _serving(team_a)
    assert serving is not None and serving.version in (1, 2)
