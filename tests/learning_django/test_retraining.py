"""Retraining through Celery-task code (ml.training.retrain_tenant, run in-process here),
the promotion gate, serving pick-up without a restart, rollback, stale/crashed runs,
cancel, the schedule and PII redaction. Uses the REAL MiniLM encoder and Banking77 data."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from ml import api as ml_api
from ml import feedback as ml_feedback
from ml import services, training
from ml.models import AnalyzedMessage, ModelStatus, ModelVersion, RunStatus, TrainingExample, TrainingRun
from tests.learning_django.conftest import INTENTS, seed_intents

pytestmark = pytest.mark.django_db


def _versions(team):
    return {v.version: v for v in ModelVersion.objects.for_tenant(team.tenant)}


def _serving(team):
    return ModelVersion.objects.for_tenant(team.tenant).filter(status=ModelStatus.SERVING).first()


def _predict(team, texts):
    """What inference serves now: ml.serving's per-process state (checked against the
    registry on every call), batched; one message through ml.api.analyze_message."""
    from ml.serving import encode, get_state

    model = get_state(team.tenant.pk).intent_model
    vecs = encode(list(texts))
    preds = [model.predict(t, v).name for t, v in zip(texts, vecs, strict=True)]
    assert ml_api.analyze_message(tenant_id=team.tenant.pk, text=texts[0])["intent"]["name"] == preds[0]
    return preds


def _retrain(team):
    run = training.start_retrain(tenant_id=team.tenant.pk)
    assert run is not None
    pk = training.retrain_tenant(tenant_id=team.tenant.pk, run_id=run.pk)
    run.refresh_from_db()
    return run, (ModelVersion.objects.for_tenant(team.tenant).get(pk=pk) if pk else None)


def test_better_is_promoted_and_served_worse_is_kept_rollback_restores(team_a, team_b, banking, banking_test,
                                                                       monkeypatch):
    seed_intents(team_a, banking, per_intent=4)
    texts = [t for t, _ in banking_test]
    starting = _predict(team_a, texts)  # the starting model (from examples) serves first

    run1, v1 = _retrain(team_a)
    assert run1.status == "done" and v1 is not None and v1.status == ModelStatus.SERVING
    assert Path(v1.artifact_path).is_dir() and str(v1.artifact_path).startswith(str(training.settings.KEFU_MODEL_DIR))
    for key in ("accuracy", "macro_f1", "oos_recall", "oos_precision", "ece", "confused_pairs"):
        assert key in v1.metrics
    assert v1.data_hash and v1.code_version and v1.training_seconds > 0 and v1.snapshot["fingerprints"]
    preds_v1 = _predict(team_a, texts)  # picked up without a restart (same process, cached state)
    from ml.serving import get_state

    assert get_state(team_a.tenant.pk).intent_model.version == 1
    assert len(starting) == len(preds_v1)

    # Visitors' messages analysed under v1 become the replay set.
    for i, (t, _lb) in enumerate(banking_test[:30]):
        ml_feedback.record_analyzed_message(tenant_id=team_a.tenant.pk, message_id=1000 + i, conversation_id=i // 3,
                                         text=t, intent=preds_v1[i], confidence=0.5, action="answer")

    # More labelled data (agent relabels of real messages) -> a better model, promoted.
    for name in INTENTS:
        for j, t in enumerate(banking[name][4:40]):
            ml_api.record_feedback(tenant_id=team_a.tenant.pk, kind="relabel", text=t, label=name,
                                     message_id=hash((name, j)) % 10**9)
    run2, v2 = _retrain(team_a)
    assert v2 is not None and v2.status == ModelStatus.SERVING, v2.reason
    assert v2.metrics["macro_f1"] >= v2.serving_metrics["macro_f1"] + 0.005
    assert v2.replay["messages"] == 30 and "intent_changed" in v2.replay
    v1.refresh_from_db()
    assert v1.status == ModelStatus.RETIRED
    preds_v2 = _predict(team_a, texts)
    assert get_state(team_a.tenant.pk).intent_model.version == 2
    acc = lambda preds: sum(p == lb for p, (_t, lb) in zip(preds, banking_test, strict=True)) / len(preds)  # noqa: E731
    assert acc(preds_v2) >= acc(preds_v1)

    # A worse model (heavily regularised linear head) is registered but not promoted.
    from ml.learning.trainer import TrainParams

    monkeypatch.setattr(training, "TRAIN_OPTIONS", {"backend": "linear", "params": TrainParams(C=0.0005)})
    run3, v3 = _retrain(team_a)
    assert v3 is not None and v3.status == ModelStatus.CANDIDATE
    assert "macro-F1" in v3.reason or "accuracy" in v3.reason
    assert _serving(team_a).pk == v2.pk
    assert _predict(team_a, texts) == preds_v2

    # Rollback to v1 in one call: the old predictions come back, without a restart.
    training.serve_version(actor=team_a.owner, version_id=v1.pk)
    assert _serving(team_a).pk == v1.pk
    assert _predict(team_a, texts) == preds_v1
    assert not ModelVersion.objects.for_tenant(team_b.tenant).exists()


def test_stale_run_of_a_killed_worker_and_a_crash_leave_serving_untouched(team_a, banking, monkeypatch):
    seed_intents(team_a, banking, per_intent=6)
    serving = ModelVersion.objects.create(tenant=team_a.tenant, kind="intent", version=1, status=ModelStatus.SERVING,
                                          artifact_path="/nonexistent", metrics={"macro_f1": 0.5})
    # A worker claimed a run, then died (SIGKILL): its heartbeat stops.
    dead = TrainingRun.objects.create(tenant=team_a.tenant, kind="intent", status="running",
                                      heartbeat_at=timezone.now() - timedelta(minutes=30), stage="fitting")
    assert training.start_retrain(tenant_id=team_a.tenant.pk) is not None  # the lock freed itself
    dead.refresh_from_db()
    assert dead.status == "failed" and "heartbeat" in dead.message
    # The redelivered task of the dead run does nothing.
    assert training.retrain_tenant(tenant_id=team_a.tenant.pk, run_id=dead.pk) is None
    # A fresh heartbeat is not reaped.
    TrainingRun.objects.for_tenant(team_a.tenant).filter(status="queued").update(
        status="running", heartbeat_at=timezone.now())
    assert training.reap_stale_runs(tenant_id=team_a.tenant.pk) == 0
    assert training.start_retrain(tenant_id=team_a.tenant.pk) is None  # one active run per tenant
    TrainingRun.objects.for_tenant(team_a.tenant).filter(status="running").update(status="done")

    # A crash mid-training: run failed, no version, serving untouched.
    import ml.learning.pipeline as pipeline

    def boom(*args, **kwargs):
        raise MemoryError("simulated crash")

    monkeypatch.setattr(pipeline, "train_candidate", boom)
    run, version = _retrain(team_a)
    assert version is None and run.status == "failed" and "simulated crash" in run.message
    assert _serving(team_a).pk == serving.pk
    assert ModelVersion.objects.for_tenant(team_a.tenant).count() == 1


def test_a_broken_serving_artifact_does_not_block_a_new_model(team_a, banking, tmp_path):
    """One orchestration (ml.learning.pipeline.retrain) for the task and the tests: a serving
    artifact that cannot be loaded is logged and the candidate is gated as a first model."""
    seed_intents(team_a, banking, per_intent=8)
    broken = tmp_path / "broken-artifact"
    broken.mkdir()
    (broken / "head.pkl").write_bytes(b"not a pickle")
    ModelVersion.objects.create(tenant=team_a.tenant, kind="intent", version=1, status=ModelStatus.SERVING,
                                artifact_path=str(broken), metrics={"macro_f1": 0.5})
    run, version = _retrain(team_a)
    assert run.status == RunStatus.DONE and version is not None, run.message
    assert version.version == 2 and version.serving_metrics in ({}, None)
    assert version.status == ModelStatus.SERVING, version.reason  # gated on the absolute thresholds only


def test_too_few_intents_is_a_skipped_run_not_a_failure(team_a, banking):
    services.create_intent(actor=team_a.owner, name="card_arrival", examples=banking["card_arrival"][:8])
    run, version = _retrain(team_a)
    assert version is None and (run.status, run.stage) == (RunStatus.DONE, "skipped")
    assert "two intents" in run.message


def test_cancel_queued_and_running(team_a, banking, monkeypatch):
    seed_intents(team_a, banking, per_intent=6)
    run = training.start_retrain(tenant_id=team_a.tenant.pk)
    training.cancel_run(actor=team_a.owner, run_id=run.pk)
    run.refresh_from_db()
    assert run.status == "cancelled"
    assert training.retrain_tenant(tenant_id=team_a.tenant.pk, run_id=run.pk) is None

    run = training.start_retrain(tenant_id=team_a.tenant.pk)
    original = training._RunReporter.progress

    def progress(self, stage, step, total, loss):
        original(self, stage, step, total, loss)
        if stage == "embedding":
            TrainingRun.objects.for_tenant(team_a.tenant).filter(pk=self.run_id).update(cancel_requested=True)

    monkeypatch.setattr(training._RunReporter, "progress", progress)
    assert training.retrain_tenant(tenant_id=team_a.tenant.pk, run_id=run.pk) is None
    run.refresh_from_db()
    assert run.status == "cancelled"
    assert not ModelVersion.objects.for_tenant(team_a.tenant).exists()
    assert not any(Path(training.settings.KEFU_MODEL_DIR).rglob("head.pkl"))


def test_scheduled_retrain_only_with_enough_new_data(team_a, team_b, banking):
    seed_intents(team_a, banking, per_intent=5)
    snapshot = training.build_dataset(tenant_id=team_a.tenant.pk).snapshot.to_dict()
    ModelVersion.objects.create(tenant=team_a.tenant, kind="intent", version=1, status=ModelStatus.SERVING,
                                snapshot=snapshot)
    for j, t in enumerate(banking["card_arrival"][10:15]):  # 5 new: too few (default 20)
        ml_api.record_feedback(tenant_id=team_a.tenant.pk, kind="relabel", text=t, label="card_arrival",
                                 message_id=j + 1)
    assert training.schedule_retraining() == 0
    assert not TrainingRun.objects.for_tenant(team_a.tenant).exists()
    assert not TrainingRun.objects.for_tenant(team_b.tenant).exists()  # no data at all

    services.update_policy(actor=team_a.owner, retrain_schedule="off")
    for j, t in enumerate(banking["exchange_rate"][10:40]):
        ml_api.record_feedback(tenant_id=team_a.tenant.pk, kind="relabel", text=t, label="exchange_rate",
                                 message_id=100 + j)
    assert training.schedule_retraining() == 0  # enough data, but the schedule is off
    services.update_policy(actor=team_a.owner, retrain_schedule="nightly")
    assert training.schedule_retraining() == 1
    run = TrainingRun.objects.for_tenant(team_a.tenant).get()
    assert run.status == "queued" and run.trigger == "scheduled"
    assert training.schedule_retraining() == 0  # already active / not due again


CANARY_EMAIL = "zq.canary.person@example.org"
CANARY_PHONE = "+1 415 555 0199"
CANARY_CARD = "4111 1111 1111 1111"


def test_pii_canaries_never_reach_the_training_set(team_a, banking):
    seed_intents(team_a, banking, per_intent=8)
    leaky = [
        (f"my card {CANARY_CARD} has not arrived yet", "card_arrival"),
        (f"please email me at {CANARY_EMAIL} about the exchange rate", "exchange_rate"),
        (f"call me on {CANARY_PHONE}, my top up failed", "top_up_failed"),
    ]
    for i, (text, label) in enumerate(leaky):
        ml_api.record_feedback(tenant_id=team_a.tenant.pk, kind="relabel", text=text, label=label, message_id=i + 1)
        ml_api.record_feedback(tenant_id=team_a.tenant.pk, kind="thumbs_up", text=text, label=label,
                                 message_id=50 + i)
        ml_feedback.record_analyzed_message(tenant_id=team_a.tenant.pk, message_id=90 + i, conversation_id=7, text=text,
                                         intent=None, confidence=0.1, action="handoff", handoff_reason="low_confidence")
        ml_api.record_human_answer(tenant_id=team_a.tenant.pk, question=text, answer=f"Write to {CANARY_EMAIL}.",
                                     conversation_id=7)
    stored = " ".join(TrainingExample.objects.for_tenant(team_a.tenant).values_list("text", flat=True))
    stored += " ".join(AnalyzedMessage.objects.for_tenant(team_a.tenant).values_list("text", flat=True))
    assert "<CARD>" in stored and "<EMAIL>" in stored and "<PHONE>" in stored
    dataset = training.build_dataset(tenant_id=team_a.tenant.pk)
    everything = stored + " ".join(e.text for e in dataset.train + dataset.validation)
    from ml.models import SuggestedArticle, UnansweredQuestion

    everything += " ".join(UnansweredQuestion.objects.for_tenant(team_a.tenant).values_list("text", flat=True))
    everything += " ".join(a for a, in SuggestedArticle.objects.for_tenant(team_a.tenant).values_list("answer"))
    run, version = _retrain(team_a)
    assert version is not None
    blobs = b"".join(p.read_bytes() for p in Path(version.artifact_path).rglob("*") if p.is_file())
    for canary in (CANARY_EMAIL, CANARY_PHONE, CANARY_CARD, "4111111111111111", "555 0199", "zq.canary"):
        assert canary not in everything
        assert canary.encode() not in blobs
    # A deleted visitor's conversations leave the learning tables.
    ml_api.forget_conversations(tenant_id=team_a.tenant.pk, conversation_ids=[7])
    assert not AnalyzedMessage.objects.for_tenant(team_a.tenant).filter(conversation_id=7).exists()
