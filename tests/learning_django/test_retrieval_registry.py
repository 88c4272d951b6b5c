"""The tenant's learned retrieval model through the task code (ml.retrieval_training,
run in-process here; a real Celery worker in the kill test): pairs from the intake paths,
the gate's decision recorded on a registered version, serving picks a served version up
without a restart, rollback restores the frozen encoder's exact rankings, and a training
worker killed mid-run leaves serving untouched. REAL MiniLM, real Bank FAQ pairs."""

from __future__ import annotations

import time

import pytest

from ml import retrieval_training, serving, training
from ml.learning.retrieval import AdaptedIndex, AdapterParams
from ml.models import ModelStatus, ModelVersion, RetrievalPair, TrainingRun
from tests.processes import celery_worker

pytestmark = pytest.mark.django_db

N_ARTICLES = 80


def _seed(team):
    from ml import services
    from ml.datasets import bank_faqs
    from ml.models import ArticleStatus

    faq = [f for f in bank_faqs() if f["questions"]][:N_ARTICLES]
    questions = []
    for n, f in enumerate(faq):
        article = services.create_article(actor=team.owner, title=f"FAQ {n}", body=f["answer"][:400],
                                          status=ArticleStatus.PUBLISHED)
        for q in f["questions"]:
            retrieval_training.record_retrieval_pair(tenant_id=team.tenant.pk, question=q, article_id=article.pk,
                                                     source="faq_import")
            questions.append(q)
    return questions


def _rankings(team, questions):
    """What the answer step searches now (per-process state, checked against the registry)."""
    state = serving.get_state(team.tenant.pk)
    vecs = serving.encode(questions)
    return [[(h.chunk_id, h.score) for h in state.index.search(q, v, 5)] for q, v in zip(questions, vecs, strict=True)]


def _serving(team):
    return ModelVersion.objects.for_tenant(team.tenant).filter(kind="retrieval", status=ModelStatus.SERVING).first()


def test_registered_by_the_gate_served_without_restart_rollback_exact(team_a, team_b, monkeypatch):
    monkeypatch.setattr(retrieval_training, "TRAIN_OPTIONS", {"params": AdapterParams(epochs=12)})
    questions = _seed(team_a)
    assert RetrievalPair.objects.for_tenant(team_a.tenant).count() == len(questions)
    probe = questions[:25]
    frozen = _rankings(team_a, probe)

    run = retrieval_training.start_retrain_retrieval(tenant_id=team_a.tenant.pk)
    assert run is not None and run.kind == "retrieval"
    pk = retrieval_training.retrain_retrieval(tenant_id=team_a.tenant.pk, run_id=run.pk)
    run.refresh_from_db()
    v1 = ModelVersion.objects.for_tenant(team_a.tenant).get(pk=pk)
    assert run.status == "done" and run.model_version_id == v1.pk and v1.kind == "retrieval"
    assert {"hit@1", "hit@5", "mrr@10", "n", "per_language"} <= set(v1.metrics)
    assert v1.serving_metrics["n"] == v1.metrics["n"] > 0
    # Promoted exactly when the held-out hit@1 improved.
    improved = v1.metrics["hit@1"] > v1.serving_metrics["hit@1"]
    assert (v1.status == ModelStatus.SERVING) == improved, v1.reason
    if not improved:  # an admin may still serve it by hand (the same path as a rollback)
        training.serve_version(actor=team_a.owner, version_id=v1.pk)

    # This process serves it on its next search: no restart, no cache drop.
    state = serving.get_state(team_a.tenant.pk)
    assert isinstance(state.index, AdaptedIndex) and state.index.version == 1
    learned = _rankings(team_a, probe)
    assert learned != frozen
    assert serving.get_state(team_b.tenant.pk).index is None or not isinstance(
        serving.get_state(team_b.tenant.pk).index, AdaptedIndex)

    # Rollback: the frozen encoder's rankings, scores included, exactly.
    retrieval_training.use_frozen_retrieval(actor=team_a.owner)
    assert _serving(team_a) is None
    assert _rankings(team_a, probe) == frozen
    # ... and serving v1 again brings its rankings back.
    training.serve_version(actor=team_a.owner, version_id=v1.pk)
    assert _rankings(team_a, probe) == learned


def test_too_few_pairs_is_skipped_and_one_run_at_a_time(team_a):
    from ml import services
    from ml.models import ArticleStatus

    article = services.create_article(actor=team_a.owner, title="Cards", body="Cards arrive in a week.",
                                      status=ArticleStatus.PUBLISHED)
    retrieval_training.record_retrieval_pair(tenant_id=team_a.tenant.pk, question="When does my card come?",
                                             article_id=article.pk, source="thumbs_up", message_id=7)
    # The same message confirmed again updates its pair instead of adding one.
    retrieval_training.record_retrieval_pair(tenant_id=team_a.tenant.pk, question="When will my card arrive?",
                                             article_id=article.pk, source="thumbs_up", message_id=7)
    assert list(RetrievalPair.objects.for_tenant(team_a.tenant).values_list("question", flat=True)) == \
        ["When will my card arrive?"]
    run = retrieval_training.start_retrain_retrieval(tenant_id=team_a.tenant.pk)
    assert retrieval_training.start_retrain_retrieval(tenant_id=team_a.tenant.pk) is None
    # An intent retrain is another kind: it may run beside it.
    assert training.start_retrain(tenant_id=team_a.tenant.pk) is not None
    assert retrieval_training.retrain_retrieval(tenant_id=team_a.tenant.pk, run_id=run.pk) is None
    run.refresh_from_db()
    assert run.status == "done" and run.stage == "skipped" and "training pairs" in run.message
    assert not ModelVersion.objects.for_tenant(team_a.tenant).filter(kind="retrieval").exists()


def _wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_killed_training_worker_leaves_serving_retrieval_untouched(team_a, settings, tmp_path, monkeypatch):
    from config.celery import app as celery_app

    if not settings.REDIS_URL:
        pytest.skip("needs REDIS_URL (make test sets it)")
    monkeypatch.setattr(retrieval_training, "TRAIN_OPTIONS", {"params": AdapterParams(epochs=8)})
    questions = _seed(team_a)
    run = retrieval_training.start_retrain_retrieval(tenant_id=team_a.tenant.pk)
    v1 = ModelVersion.objects.for_tenant(team_a.tenant).get(
        pk=retrieval_training.retrain_retrieval(tenant_id=team_a.tenant.pk, run_id=run.pk))
    if v1.status != ModelStatus.SERVING:
        training.serve_version(actor=team_a.owner, version_id=v1.pk)
    serving.drop_state()
    before = _rankings(team_a, questions[:15])

    settings.KEFU_TASK_MODE = "celery"
    celery_app.control.purge()
    env = {"KEFU_MODEL_DIR": str(settings.KEFU_MODEL_DIR), "KEFU_BROKER_VISIBILITY_TIMEOUT": "4"}
    with celery_worker(tmp_path, queues="training", **env) as worker:
        run2 = retrieval_training.start_retrain_retrieval(tenant_id=team_a.tenant.pk)
        assert run2 is not None
        _wait_for(lambda: TrainingRun.objects.for_tenant(team_a.tenant).filter(pk=run2.pk, status="running").exists(), 120,
                  "the retrain to start on the worker")
        worker.kill()
    time.sleep(1)
    assert _serving(team_a).pk == v1.pk
    assert ModelVersion.objects.for_tenant(team_a.tenant).filter(kind="retrieval").count() == 1
    assert _rankings(team_a, questions[:15]) == before, "serving searches exactly as before"
    settings.KEFU_TRAINING_STALE_S = 1
    time.sleep(2)
    assert training.reap_stale_runs(tenant_id=team_a.tenant.pk) == 1
    assert retrieval_training.start_retrain_retrieval(tenant_id=team_a.tenant.pk) is not None, "the lock is free"


def test_registry_pages_show_retrieval_versions_and_the_oos_curve(team_a, client):
    """Plumbing of the pages (rows written here, no training): the learning page lists
    retrieval versions with hit@1 and the retrain/frozen buttons; an intent version's
    page shows its out-of-scope operating points."""
    from django.urls import reverse

    versions = ModelVersion.objects.for_tenant(team_a.tenant)
    r1 = versions.create(tenant=team_a.tenant, kind="retrieval", version=1, status=ModelStatus.SERVING,
                         metrics={"hit@1": 0.612, "hit@5": 0.871, "mrr@10": 0.7, "n": 40},
                         serving_metrics={"hit@1": 0.5, "hit@5": 0.8, "mrr@10": 0.6, "n": 40}, reason="hit@1 up")
    curve = [{"budget": b, "prob_threshold": 0.1, "sim_threshold": 0.4, "in_scope_reject": b / 2,
              "oos_recall": 0.5 + b, "oos_precision": 0.9} for b in (0.01, 0.03, 0.08)]
    i1 = versions.create(tenant=team_a.tenant, kind="intent", version=1, status=ModelStatus.CANDIDATE,
                         metrics={"accuracy": 0.9, "oos_budget": 0.03, "oos_curve": curve})
    client.force_login(team_a.owner.user)
    page = client.get(reverse("ml:learning", args=[team_a.tenant.slug])).content.decode()
    assert 'id="retrieval"' in page and "0.612" in page and 'value="retrain_retrieval"' in page
    assert 'value="frozen_retrieval"' in page
    version_page = client.get(reverse("ml:model-version", args=[team_a.tenant.slug, r1.pk])).content.decode()
    assert "Retrieval model" in version_page and "0.612" in version_page
    intent_page = client.get(reverse("ml:model-version", args=[team_a.tenant.slug, i1.pk])).content.decode()
    assert 'id="oos-curve"' in intent_page and ">0.580<" in intent_page and ">0.015<" in intent_page
    client.post(reverse("ml:learning", args=[team_a.tenant.slug]), {"op": "frozen_retrieval"})
    assert not versions.filter(kind="retrieval", status=ModelStatus.SERVING).exists()


def test_intake_paths_record_pairs(team_a, team_b, django_capture_on_commit_callbacks):
    """Thumbs-up / relabel naming the cited article, an accepted suggestion and a CSV FAQ
    import each store a redacted question -> article pair; another tenant's article is refused."""
    from ml import feedback, services
    from ml.models import ArticleStatus, SuggestedArticle
    from tenants.errors import ServiceError

    article = services.create_article(actor=team_a.owner, title="Refunds", body="Refunds take 5 days.",
                                      status=ArticleStatus.PUBLISHED)
    feedback.record_feedback(tenant_id=team_a.tenant.pk, kind="thumbs_up", text="refund to jo@example.com?",
                             message_id=11, conversation_id=3, article_id=article.pk)
    pair = RetrievalPair.objects.for_tenant(team_a.tenant).get(source="thumbs_up")
    assert pair.article_id == article.pk and pair.message_id == 11 and "jo@example.com" not in pair.question
    other = services.create_article(actor=team_b.owner, title="B", body="b", status=ArticleStatus.PUBLISHED)
    with pytest.raises(ServiceError):
        retrieval_training.record_retrieval_pair(tenant_id=team_a.tenant.pk, question="x", article_id=other.pk,
                                                 source="relabel")

    s = SuggestedArticle.objects.create(tenant=team_a.tenant, question="Can I pay in cash?", answer="Yes, in store.")
    accepted = services.decide_suggestion(actor=team_a.owner, suggestion_id=s.pk, accept=True)
    assert RetrievalPair.objects.for_tenant(team_a.tenant).get(source="agent_accepted").article_id == accepted.pk

    raw = b"question,answer\nDo you gift wrap?,Yes - gift wrapping costs $3.\nDo you ship abroad?,To the EU only.\n"
    with django_capture_on_commit_callbacks(execute=False):
        job = services.start_import(actor=team_a.owner, kind="csv", files=[("faq.csv", raw)])
    services.run_import(tenant_id=team_a.tenant.pk, import_id=job.pk)
    imported = dict(RetrievalPair.objects.for_tenant(team_a.tenant).filter(source="faq_import")
                    .values_list("question", "article__title"))
    assert imported == {"Do you gift wrap?": "Do you gift wrap?", "Do you ship abroad?": "Do you ship abroad?"}
    assert not RetrievalPair.objects.for_tenant(team_b.tenant).exists()
