"""The learning pages in a real browser (Debian Chromium via Playwright): registry with
metrics, the live progress bar (polled JSON) during a run, the replay diff and the gaps
list. Registry rows and the running run are seeded rows (the real training path is
covered by test_retraining.py); gap clustering uses the REAL MiniLM encoder."""

from __future__ import annotations

import os

import pytest
from django.utils import timezone

from ml import api as ml_api
from ml.models import ModelStatus, ModelVersion, TrainingRun
from tests.browser.conftest import CHROMIUM_ARGS, SCREENSHOTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

METRICS = {"accuracy": 0.912, "macro_f1": 0.905, "oos_recall": 0.83, "oos_precision": 0.88, "ece": 0.041,
           "n_train": 212, "n_validation": 52,
           "confused_pairs": [{"true": "card_arrival", "pred": "lost_or_stolen_card", "count": 3},
                              {"true": "change_pin", "pred": "pin_blocked", "count": 2}]}
REPLAY = {"messages": 120, "conversations": 40, "intent_changed": 9, "handoffs_avoided": 6, "handoffs_added": 1,
          "avoided_by_reason": {"low_confidence": 5, "out_of_scope": 1}, "added_by_reason": {"low_confidence": 1},
          "changed_examples": [
              {"text": "my card <CARD> still hasn't come", "serving_intent": "out_of_scope",
               "candidate_intent": "card_arrival", "serving_confidence": 0.21, "candidate_confidence": 0.87},
              {"text": "pin not working after 3 tries", "serving_intent": "change_pin",
               "candidate_intent": "pin_blocked", "serving_confidence": 0.44, "candidate_confidence": 0.79}]}


def _seed(team):
    t = team.tenant
    ModelVersion.objects.create(tenant=t, kind="intent", version=1, status=ModelStatus.RETIRED,
                                metrics={**METRICS, "accuracy": 0.861, "macro_f1": 0.85, "ece": 0.07},
                                data_hash="a" * 64, code_version="git:1a2b3c learning:9f8e", artifact_path="/x",
                                training_seconds=8.2, reason="no serving model; first version (macro-F1 0.850)")
    v2 = ModelVersion.objects.create(
        tenant=t, kind="intent", version=2, status=ModelStatus.SERVING, metrics=METRICS, data_hash="b" * 64,
        serving_metrics={**METRICS, "accuracy": 0.861, "macro_f1": 0.85, "ece": 0.07}, replay=REPLAY,
        code_version="git:1a2b3c learning:9f8e", artifact_path="/x", training_seconds=14.9,
        reason="macro-F1 0.905 vs serving 0.850 (+5.5 pt); accuracy 0.912 vs 0.861", promoted_at=timezone.now())
    ModelVersion.objects.create(tenant=t, kind="intent", version=3, status=ModelStatus.CANDIDATE,
                                metrics={**METRICS, "macro_f1": 0.902}, data_hash="c" * 64, artifact_path="/x",
                                code_version="git:1a2b3c learning:9f8e", training_seconds=15.3,
                                reason="macro-F1 0.902 vs serving 0.905 (-0.3 pt), needs at least +0.5 pt")
    for i, q in enumerate(["Do you ship to Canada?", "can you deliver to canada", "shipping to Canada possible?",
                           "Do you have a store in Berlin?", "is there a shop in berlin", "What is your refund policy for gifts?"]):
        ml_api.record_unanswered_question(tenant_id=t.pk, text=q, message_id=500 + i, conversation_id=i,
                                            reason="low_confidence")
    ml_api.record_human_answer(tenant_id=t.pk, question="Do you ship to Canada?",
                                 answer="Yes, we ship to Canada in 5-8 business days. Duties are included.",
                                 conversation_id=0)
    return v2


def test_learning_pages_screenshots(live_server, team_a):
    from playwright.sync_api import sync_playwright

    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    SCREENSHOTS.mkdir(exist_ok=True)
    v2 = _seed(team_a)
    base = f"{live_server.url}/t/{team_a.tenant.slug}"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 860})
        page = context.new_page()
        page.goto(f"{live_server.url}/login/")
        page.fill("input[name=username], input[name=email]", team_a.owner.user.email)
        page.fill("input[name=password]", "correct-horse-9")
        page.click("button[type=submit]")
        page.wait_for_load_state()

        page.goto(f"{base}/ai/learning/")
        page.wait_for_selector("text=v2")
        assert page.locator("text=Roll back to this").count() == 1
        page.screenshot(path=str(SCREENSHOTS / "learning-registry.png"), full_page=True)

        run = TrainingRun.objects.create(tenant=team_a.tenant, kind="intent", status="running", stage="embedding",
                                         step=1, total_steps=10, heartbeat_at=timezone.now(), started_at=timezone.now())
        page.goto(f"{base}/ai/learning/")
        TrainingRun.objects.for_tenant(team_a.tenant).filter(pk=run.pk).update(stage="fitting", step=6, loss=0.4213)
        page.wait_for_function("document.getElementById('run-percent').textContent === '60%'", timeout=10000)
        assert page.locator("#cancel-form").is_visible()
        page.wait_for_timeout(500)
        page.screenshot(path=str(SCREENSHOTS / "learning-progress.png"), full_page=True)
        page.click("#cancel-form button")
        page.wait_for_load_state()
        run.refresh_from_db()
        assert run.cancel_requested
        TrainingRun.objects.for_tenant(team_a.tenant).filter(pk=run.pk).update(status="cancelled", stage="cancelled")

        page.goto(f"{base}/ai/learning/versions/{v2.pk}/")
        page.wait_for_selector("#replay")
        assert page.locator("text=Handoffs avoided").count() == 1
        page.screenshot(path=str(SCREENSHOTS / "learning-replay.png"), full_page=True)

        page.goto(f"{base}/knowledge/gaps/")
        page.wait_for_selector("text=Draft article")
        page.screenshot(path=str(SCREENSHOTS / "learning-gaps.png"), full_page=True)
        page.locator("form:has(input[name=op][value=draft]) button").first.click()
        page.wait_for_load_state()
        assert "/knowledge/" in page.url
        browser.close()
