"""The demo shop in Chinese with the REAL models (MiniLM; SmolLM2 is not needed: the extractive
answer wins) in headless Chromium: on a page whose lang is zh-CN, in a browser whose own
language is English, the widget's UI is Chinese, and a Chinese returns question gets a Chinese
answer citing the Chinese returns article. Screenshot: screenshots/demo-widget-zh.png."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from tests.browser.conftest import shot
from tests.processes import free_port, uvicorn_server

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_chinese_page_gets_a_chinese_widget_and_a_chinese_answer(chromium, settings, tmp_path):
    from playwright.sync_api import expect

    from tenants.models import Widget

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings.PUBLIC_BASE_URL = base
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    widget = Widget.all_tenants.get(tenant__slug="demo-shop")
    assert widget.locale == "auto"  # the demo does not pin a language
    Widget.all_tenants.filter(pk=widget.pk).update(allowed_origins=[base])
    env = {"KEFU_PUBLIC_BASE_URL": base, "KEFU_TASK_MODE": "inprocess", "KEFU_WARM_UP": "1",
           "KEFU_ALLOWED_HOSTS": "127.0.0.1", "KEFU_CSRF_TRUSTED_ORIGINS": base}
    with uvicorn_server(tmp_path, port=port, **env):
        context = chromium.new_context(viewport={"width": 1200, "height": 820}, locale="en-US")
        page = context.new_page()
        page.goto(f"{base}/demo/widget/{widget.public_key}/?lang=zh-CN")
        assert page.evaluate("document.documentElement.lang") == "zh-CN"
        assert page.evaluate("navigator.language") == "en-US"
        launcher = page.locator("[data-kefu] .launch")
        expect(launcher).to_have_attribute("aria-label", "打开聊天", timeout=30_000)
        launcher.click()
        box = page.locator("[data-kefu] textarea")
        expect(box).to_have_attribute("placeholder", "输入消息…")
        expect(page.locator("[data-kefu] button.human")).to_have_text("转人工")
        box.fill("我想退货，需要多长时间？")
        box.press("Enter")
        answer = page.locator("[data-kefu] .m.bot[data-seq]").first
        expect(answer).to_contain_text("30 天", timeout=180_000)
        expect(answer.locator(".cite a")).to_contain_text("退货和退款", timeout=5000)
        shot(page, "demo-widget-zh")
        context.close()
