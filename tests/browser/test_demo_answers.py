"""The demo shop with the REAL models (MiniLM, SmolLM2) in headless Chromium: a returns
question is answered from the demo knowledge with a citation, "Where is my order 1001?"
through the demo's order-status action, and the inbox explains why the bot said it.
Screenshots: screenshots/demo-*.png."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from tenants import services as tenant_services
from tenants.models import Membership, Widget
from tests.browser.conftest import shot
from tests.processes import free_port, uvicorn_server

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_demo_answers_from_knowledge_and_the_order_action(chromium, settings, tmp_path):
    from playwright.sync_api import expect

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings.PUBLIC_BASE_URL = base
    # The server process hashes with the real hasher: seed the owner with it too.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    widget = Widget.all_tenants.get(tenant__slug="demo-shop")
    owner = Membership.all_tenants.select_related("user").get(tenant__slug="demo-shop", role="owner")
    tenant_services.update_widget(
        actor=owner, widget_id=widget.pk, name=widget.name, allowed_origins=[base], color=widget.color,
        greeting=widget.greeting, locale=widget.locale,
    )
    env = {
        "KEFU_PUBLIC_BASE_URL": base,
        "KEFU_ACTION_ALLOWED_HOSTS": f"127.0.0.1:{port}",
        "KEFU_TASK_MODE": "inprocess",
        "KEFU_WARM_UP": "1",
        "KEFU_ALLOWED_HOSTS": "127.0.0.1",
        "KEFU_CSRF_TRUSTED_ORIGINS": base,
    }
    with uvicorn_server(tmp_path, port=port, **env):
        visitor = chromium.new_context(viewport={"width": 1200, "height": 820}).new_page()
        visitor.goto(f"{base}/demo/")
        visitor.locator("[data-kefu] .launch").click()
        box = visitor.locator("[data-kefu] textarea")
        box.fill("How long do I have to return an item?")
        box.press("Enter")
        answer = visitor.locator("[data-kefu] .m.bot[data-seq]").first
        expect(answer).to_contain_text("30 days", timeout=180_000)
        expect(answer.locator(".cite a")).to_contain_text("Return", timeout=5000)
        shot(visitor, "demo-widget-returns-answer")

        box.fill("Where is my order 1001?")
        box.press("Enter")
        order = visitor.locator("[data-kefu] .m.bot[data-seq]").nth(1)
        expect(order).to_contain_text("1001", timeout=120_000)
        expect(order).to_contain_text("shipped")
        shot(visitor, "demo-widget-order-status")

        agent = chromium.new_context(viewport={"width": 1400, "height": 900}).new_page()
        agent.goto(f"{base}/login/")
        agent.fill("input[name=username]", owner.user.email)
        agent.fill("input[name=password]", "kefu-demo-2026")
        agent.click("button[type=submit]")
        agent.wait_for_url(lambda url: "/login/" not in url)
        agent.goto(f"{base}/t/demo-shop/inbox/?view=all")
        agent.locator("#conv-list li button").first.click()
        agent.locator("#messages li.bot").first.click()
        explanation = agent.locator("#explain")
        expect(explanation).to_contain_text("returns", timeout=10_000)  # the intent
        expect(explanation).to_contain_text("Returns and refunds")  # the source, with its score
        expect(explanation.locator(".x-cand.chosen")).to_contain_text("30 days")
        shot(agent, "demo-inbox-explanation")
