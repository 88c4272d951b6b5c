"""End-to-end in headless Chromium: the widget on a host page served from a second origin,
an agent in the inbox (second browser context), uvicorn serving the ASGI app against the
test PostgreSQL database with the Redis channel layer. Bot: the plumbing fake
(tests/chat/fake_ml.py via tests/chat/live_settings.py), not the real models."""

from __future__ import annotations

import http.server
import threading
from pathlib import Path

import pytest

from chat.models import Conversation, CsatResponse, ReportingEvent
from tenants import services as tenant_services
from tests.processes import free_port, uvicorn_server

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "screenshots"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def test_visitor_agent_flow(team_a, tmp_path, monkeypatch):
    from playwright.sync_api import expect, sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "1")  # ORM checks while Playwright's loop runs
    SHOTS.mkdir(exist_ok=True)
    host_port = free_port()
    host_origin = f"http://127.0.0.2:{host_port}"
    widget, _secret = tenant_services.create_widget(
        actor=team_a.owner, name="Alpha Shop", allowed_origins=host_origin, color="#0f766e"
    )
    with uvicorn_server(
        tmp_path, DJANGO_SETTINGS_MODULE="tests.chat.live_settings", KEFU_TASK_MODE="inprocess"
    ) as base:
        html = (
            "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Alpha Shop</title>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            "<style>*{color:red!important;font-size:40px!important} button{display:none!important}</style></head>"
            "<body><h1>Alpha Shop</h1><p>Host page on another origin.</p>"
            f"<script src='{base}/widget.js' data-kefu-widget='{widget.public_key}' async></script></body></html>"
        )
        server = http.server.ThreadingHTTPServer(("127.0.0.2", host_port), _handler(html))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
                visitor = browser.new_context(viewport={"width": 1200, "height": 800}).new_page()
                visitor.goto(host_origin + "/")
                launcher = visitor.locator("[data-kefu] .launch")
                expect(launcher).to_be_visible(timeout=15000)
                launcher.focus()
                visitor.keyboard.press("Enter")  # keyboard-accessible
                box = visitor.locator("[data-kefu] textarea")
                expect(box).to_be_focused()
                box.fill("Hello, where is my order?")
                box.press("Enter")
                expect(visitor.locator("[data-kefu] .m.visitor[data-seq]")).to_have_count(1, timeout=15000)
                expect(visitor.locator("[data-kefu] .m.bot[data-seq]")).to_contain_text("Echo: Hello", timeout=20000)
                visitor.screenshot(path=str(SHOTS / "widget-bot-reply.png"))

                agent = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
                agent.goto(base + "/login/")
                agent.fill("input[name=username]", team_a.agent.user.email)
                agent.fill("input[name=password]", "correct-horse-9")
                agent.click("button[type=submit]")
                agent.wait_for_url(lambda url: "/login/" not in url, timeout=15000)
                agent.goto(f"{base}/t/{team_a.tenant.slug}/inbox/")
                expect(agent.locator("#live")).to_have_class("badge ok", timeout=15000)
                item = agent.locator("#conv-list li button").first
                expect(item).to_contain_text("Echo: Hello", timeout=15000)
                item.click()
                expect(agent.locator("#messages li.visitor")).to_contain_text("where is my order")
                agent.click("#btn-takeover")
                expect(agent.locator("#thread-handled")).to_have_text("Human", timeout=10000)
                agent.fill("#reply", "Hi, I am Alice. <b>Your order</b> ships today.")
                agent.press("#reply", "Enter")
                expect(agent.locator("#messages li.agent")).to_contain_text("ships today", timeout=10000)

                # The visitor sees it live, as text (the <b> is not markup).
                reply = visitor.locator("[data-kefu] .m.agent")
                expect(reply).to_contain_text("<b>Your order</b> ships today", timeout=10000)
                assert visitor.locator("[data-kefu] .m.agent b").count() == 0
                expect(visitor.locator("[data-kefu] .m.system")).to_contain_text("joined")
                visitor.screenshot(path=str(SHOTS / "widget-agent-reply.png"))

                # Reload: the whole history is back, in order.
                visitor.reload()
                visitor.locator("[data-kefu] .launch").click()
                history = visitor.locator("[data-kefu] .m[data-seq]")
                expect(history).to_have_count(4, timeout=15000)
                assert [history.nth(i).get_attribute("class") for i in range(4)] == [
                    "m visitor", "m bot", "m system", "m agent"
                ]

                agent.click("#btn-resolve")
                expect(agent.locator("#thread-status")).to_have_text("Resolved", timeout=10000)  # the translated label
                csat = visitor.locator("[data-kefu] form.csat")
                expect(csat).to_be_visible(timeout=10000)
                visitor.locator("[data-kefu] .stars button[data-rating='5']").click()
                csat.locator("input").fill("Quick and kind")
                csat.locator("button[type=submit]").click()
                expect(visitor.locator("[data-kefu] .status")).to_contain_text("Thanks for your rating", timeout=10000)
                visitor.screenshot(path=str(SHOTS / "widget-csat.png"))

                expect(agent.locator("#csat")).to_contain_text("5/5", timeout=10000)
                expect(agent.locator("#csat")).to_contain_text("Quick and kind")
                agent.screenshot(path=str(SHOTS / "inbox-resolved-csat.png"), full_page=True)

                browser.close()
        finally:
            server.shutdown()

    conv = Conversation.objects.for_tenant(team_a.tenant).get()
    assert conv.status == "resolved" and conv.handoff_reason == "agent_takeover"
    csat = CsatResponse.objects.for_tenant(team_a.tenant).get()
    assert (csat.rating, csat.comment, csat.agent_id) == (5, "Quick and kind", team_a.agent.pk)


def test_phone_full_screen_and_solved_button(team_a, tmp_path, monkeypatch):
    """A 390x844 phone on a host page with a viewport meta: the open widget fills the
    screen; "This solved my problem" under the bot answer resolves as the bot, then CSAT."""
    from playwright.sync_api import expect, sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "1")
    SHOTS.mkdir(exist_ok=True)
    host_port = free_port()
    host_origin = f"http://127.0.0.2:{host_port}"
    widget, _secret = tenant_services.create_widget(
        actor=team_a.owner, name="Alpha Shop", allowed_origins=host_origin, color="#0f766e"
    )
    with uvicorn_server(
        tmp_path, DJANGO_SETTINGS_MODULE="tests.chat.live_settings", KEFU_TASK_MODE="inprocess"
    ) as base:
        html = (
            "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Alpha Shop</title>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'></head>"
            "<body><h1>Alpha Shop</h1><p>A phone-sized host page.</p>"
            f"<script src='{base}/widget.js' data-kefu-widget='{widget.public_key}' async></script></body></html>"
        )
        server = http.server.ThreadingHTTPServer(("127.0.0.2", host_port), _handler(html))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
                ctx = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
                phone = ctx.new_page()
                phone.goto(host_origin + "/")
                phone.locator("[data-kefu] .launch").click()
                panel = phone.locator("[data-kefu] .panel")
                expect(panel).to_be_visible()
                box = panel.bounding_box()
                assert box is not None
                assert (round(box["x"]), round(box["y"]), round(box["width"]), round(box["height"])) == (0, 0, 390, 844)
                expect(phone.locator("[data-kefu] .launch")).to_be_hidden()  # not over the composer
                phone.screenshot(path=str(SHOTS / "widget-phone.png"))
                text = phone.locator("[data-kefu] textarea")
                text.fill("How long does shipping take?")
                phone.locator("[data-kefu] form.compose .btn").click()
                expect(phone.locator("[data-kefu] .m.bot[data-seq]")).to_contain_text("Echo: How long", timeout=20000)
                solved = phone.locator("[data-kefu] .m.bot .solved")
                expect(solved).to_have_text("This solved my problem", timeout=10000)
                phone.screenshot(path=str(SHOTS / "widget-phone-bot-reply.png"))
                solved.click()
                expect(phone.locator("[data-kefu] form.csat")).to_be_visible(timeout=10000)
                expect(solved).to_have_count(0)
                phone.screenshot(path=str(SHOTS / "widget-phone-solved.png"))
                phone.locator("[data-kefu] .head button[aria-label='Close chat']").click()
                expect(panel).to_be_hidden()
                expect(phone.locator("[data-kefu] .launch")).to_be_visible()
                browser.close()
        finally:
            server.shutdown()

    conv = Conversation.objects.for_tenant(team_a.tenant).get()
    assert (conv.status, conv.handled_by, conv.csat_state) == ("resolved", "bot", "requested")
    kinds = list(
        ReportingEvent.objects.for_tenant(team_a.tenant).order_by("id").values_list("kind", flat=True)
    )
    assert kinds[-3:] == ["resolution_confirmed", "resolved", "csat_sent"]


def _handler(html: str):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            body = html.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    return Handler
