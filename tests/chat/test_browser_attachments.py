"""Attachments and inbox search end to end in headless Chromium (issue 13 #2, #4): the
visitor attaches a PNG with the widget's paperclip (the thumbnail loads from the platform
into the customer's page, with the visitor token); the agent finds the conversation with
the inbox search box, sees the thumbnail, and sends a PDF that shows in the widget as a
download link. uvicorn serves the ASGI app; the bot is the plumbing fake
(tests/chat/fake_ml.py via tests/chat/live_settings.py), not the real models."""

from __future__ import annotations

import http.server
import io
import threading

import pytest
from PIL import Image

from chat.models import Attachment
from tenants import services as tenant_services
from tests.chat.test_browser import CHROMIUM_ARGS, SHOTS, _handler
from tests.processes import free_port, uvicorn_server

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (640, 480), (20, 120, 200)).save(out, format="PNG")
    return out.getvalue()


def _loaded(locator) -> bool:
    return bool(locator.evaluate("img => img.complete && img.naturalWidth > 0"))


def test_attachments_and_search_in_widget_and_inbox(team_a, tmp_path, monkeypatch):
    from playwright.sync_api import expect, sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "1")
    SHOTS.mkdir(exist_ok=True)
    (tmp_path / "photo.png").write_bytes(_png())
    (tmp_path / "invoice.pdf").write_bytes(PDF)
    host_port = free_port()
    host_origin = f"http://127.0.0.2:{host_port}"
    widget, _secret = tenant_services.create_widget(actor=team_a.owner, name="Alpha Shop", allowed_origins=host_origin)
    with uvicorn_server(tmp_path, DJANGO_SETTINGS_MODULE="tests.chat.live_settings", KEFU_TASK_MODE="inprocess",
                        KEFU_MEDIA_ROOT=str(tmp_path / "media")) as base:
        html = ("<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Shop</title></head><body>"
                f"<script src='{base}/widget.js' data-kefu-widget='{widget.public_key}' async></script></body></html>")
        server = http.server.ThreadingHTTPServer(("127.0.0.2", host_port), _handler(html))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
                visitor = browser.new_context(viewport={"width": 1200, "height": 800}).new_page()
                visitor.goto(host_origin + "/")
                visitor.locator("[data-kefu] .launch").click()
                visitor.locator("[data-kefu] textarea").fill("My kettle arrived broken, photo follows")
                visitor.locator("[data-kefu] textarea").press("Enter")
                expect(visitor.locator("[data-kefu] .m.visitor[data-seq]")).to_have_count(1, timeout=15000)
                visitor.locator("[data-kefu] form.compose input[type=file]").set_input_files(str(tmp_path / "photo.png"))
                thumb = visitor.locator("[data-kefu] .m.visitor a.file img")
                expect(thumb).to_be_visible(timeout=15000)
                assert _wait(lambda: _loaded(thumb)), "the thumbnail did not load in the customer's page"
                visitor.screenshot(path=str(SHOTS / "widget-attachment.png"))

                agent = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
                agent.goto(base + "/login/")
                agent.fill("input[name=username]", team_a.agent.user.email)
                agent.fill("input[name=password]", "correct-horse-9")
                agent.click("button[type=submit]")
                agent.wait_for_url(lambda url: "/login/" not in url, timeout=15000)
                agent.goto(f"{base}/t/{team_a.tenant.slug}/inbox/")
                agent.select_option("#status-filter", "")
                agent.click("[data-view=all]")
                agent.fill("#conv-search", "kettle arrived")
                item = agent.locator("#conv-list li button")
                expect(item).to_have_count(1, timeout=10000)
                agent.fill("#conv-search", "no such words anywhere")
                expect(item).to_have_count(0, timeout=10000)
                agent.fill("#conv-search", "kettle arrived")
                expect(item).to_have_count(1, timeout=10000)
                item.first.click()
                inbox_thumb = agent.locator("#messages li.visitor a.file img")
                expect(inbox_thumb).to_be_visible(timeout=10000)
                assert _wait(lambda: _loaded(inbox_thumb)), "the thumbnail did not load in the inbox"
                agent.locator("#attach-file").set_input_files(str(tmp_path / "invoice.pdf"))
                expect(agent.locator("#messages li.agent a.file")).to_contain_text("invoice.pdf", timeout=10000)
                agent.screenshot(path=str(SHOTS / "inbox-attachments-search.png"), full_page=True)

                link = visitor.locator("[data-kefu] .m.agent a.file")
                expect(link).to_contain_text("invoice.pdf", timeout=15000)
                assert "token=" in (link.get_attribute("href") or "")
                browser.close()
        finally:
            server.shutdown()
    kinds = sorted(Attachment.objects.for_tenant(team_a.tenant).values_list("content_type", "sender"))
    assert kinds == [("application/pdf", "agent"), ("image/png", "visitor")]


def _wait(check, seconds: float = 10.0) -> bool:
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False
