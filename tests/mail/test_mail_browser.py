"""Issue 13 in headless Chromium against uvicorn (the plumbing fake bot, tests/chat/fake_ml.py):

- a visitor leaves an e-mail and closes the page; the agent replies in the inbox; the mail
  reaches a real SMTP server on loopback; its answer, posted raw to the inbound endpoint,
  appears in the agent's inbox conversation;
- a widget on a site whose origin is not allowed says "unavailable" and stops trying;
- /api/docs/ renders with every non-loopback request blocked.
"""

from __future__ import annotations

import http.server
import threading
import time
import urllib.request
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from mail.inbound import rotate_inbound_secret
from tenants import services as tenant_services
from tests.chat.test_browser import _handler
from tests.processes import free_port, uvicorn_server

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "screenshots"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _host_page(base: str, public_key: str, port: int) -> str:
    html = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Shop</title></head><body><h1>Shop</h1>"
        f"<script src='{base}/widget.js' data-kefu-widget='{public_key}' async></script></body></html>"
    )
    server = http.server.ThreadingHTTPServer(("127.0.0.2", port), _handler(html))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.2:{port}"


def _wait_for_mail(smtp, address: str, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = smtp.to(address)
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"no mail to {address}; got {[r.rcpt_tos for r in smtp.received]}")


def _log_in(page, base: str, email: str) -> None:
    page.goto(base + "/login/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", "correct-horse-9")
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login/" not in url, timeout=15000)


def test_offline_visitor_gets_the_reply_by_mail_and_answers_into_the_inbox(smtp, team_a, tmp_path, monkeypatch):
    from playwright.sync_api import expect, sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "1")
    SHOTS.mkdir(exist_ok=True)
    port = free_port()
    host = f"http://127.0.0.2:{port}"
    widget, _secret = tenant_services.create_widget(actor=team_a.owner, name="Alpha Shop", allowed_origins=host)
    secret = rotate_inbound_secret(tenant=team_a.tenant)
    env = {"DJANGO_SETTINGS_MODULE": "tests.chat.live_settings", "KEFU_TASK_MODE": "inprocess",
           "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend", "EMAIL_HOST": "127.0.0.1",
           "EMAIL_PORT": str(smtp.port), "KEFU_MAIL_REPLY_DELAY_S": "0", "KEFU_MAIL_INBOUND_DOMAIN": "reply.kefu.test"}
    with uvicorn_server(tmp_path, **env) as base:
        _host_page(base, widget.public_key, port)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            visitor_context = browser.new_context(viewport={"width": 1200, "height": 800})
            visitor = visitor_context.new_page()
            visitor.goto(host + "/")
            visitor.locator("[data-kefu] .launch").click()
            visitor.locator("[data-kefu] textarea").fill("Can I change my delivery address?")
            visitor.locator("[data-kefu] textarea").press("Enter")
            expect(visitor.locator("[data-kefu] .m.visitor[data-seq]")).to_have_count(1, timeout=15000)
            visitor.locator("[data-kefu] button.human").click()  # no agent online: asks for an e-mail
            email_box = visitor.locator("[data-kefu] form.email")
            expect(email_box).to_be_visible(timeout=10000)
            email_box.locator("input").fill("mei@visitor.test")
            email_box.locator("button").click()
            expect(visitor.locator("[data-kefu] .status")).to_contain_text("mei@visitor.test", timeout=10000)
            visitor.screenshot(path=str(SHOTS / "mail-widget-email-left.png"))
            visitor_context.close()  # the visitor closes the page

            agent = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
            _log_in(agent, base, team_a.agent.user.email)
            agent.goto(f"{base}/t/{team_a.tenant.slug}/inbox/")
            expect(agent.locator("#live")).to_have_class("badge ok", timeout=15000)
            agent.locator("#conv-list li button").first.click()
            expect(agent.locator("#messages li.visitor")).to_contain_text("delivery address")
            agent.fill("#reply", "Yes: reply with the new address and we will update it.")
            agent.press("#reply", "Enter")
            expect(agent.locator("#messages li.agent")).to_contain_text("new address", timeout=10000)

            (mail,) = _wait_for_mail(smtp, "mei@visitor.test")
            assert "reply with the new address" in mail.body and "Can I change my delivery address?" in mail.body
            answer = EmailMessage()
            answer["From"], answer["To"] = "mei@visitor.test", str(mail.message["Reply-To"])
            answer["Subject"], answer["Message-ID"] = "Re: " + str(mail.message["Subject"]), "<mei-answer-1@visitor.test>"
            answer.set_content("Please send it to 12 Harbour Road.\n\nOn Mon, Kefu wrote:\n> Yes: reply with the new address")
            request = urllib.request.Request(
                base + "/inbound/mail/", data=answer.as_bytes(), method="POST",
                headers={"Content-Type": "message/rfc822", "X-Kefu-Inbound-Secret": secret},
            )
            with urllib.request.urlopen(request, timeout=15) as response:  # noqa: S310 - loopback test server
                assert response.status == 201
            answered = agent.locator("#messages li.visitor").last
            expect(answered).to_contain_text("Please send it to 12 Harbour Road.", timeout=10000)
            assert "wrote" not in answered.inner_text()  # the quoted original was cut
            agent.screenshot(path=str(SHOTS / "mail-answer-in-inbox.png"))
            browser.close()


def test_disallowed_origin_shows_unavailable_and_stops(team_a, tmp_path, monkeypatch):
    from playwright.sync_api import expect, sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "1")
    widget, _secret = tenant_services.create_widget(actor=team_a.owner, name="Alpha", allowed_origins="https://shop.example")
    with uvicorn_server(tmp_path, DJANGO_SETTINGS_MODULE="tests.chat.live_settings", KEFU_TASK_MODE="inprocess") as base:
        host = _host_page(base, widget.public_key, free_port())
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = browser.new_page()
            sockets: list[str] = []
            page.on("websocket", lambda ws: sockets.append(ws.url))
            page.goto(host + "/")
            page.locator("[data-kefu] .launch").click()
            expect(page.locator("[data-kefu] .status")).to_have_text("Chat is unavailable on this site.", timeout=15000)
            expect(page.locator("[data-kefu] textarea")).to_be_disabled()
            page.wait_for_timeout(3000)  # a reconnect loop would open more sockets meanwhile
            assert len(sockets) == 1
            page.screenshot(path=str(SHOTS / "widget-origin-refused.png"))
            browser.close()
        owner = None
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            owner = browser.new_page()
            _log_in(owner, base, team_a.owner.user.email)
            owner.goto(f"{base}/t/{team_a.tenant.slug}/settings/")
            expect(owner.locator(".refused-origin")).to_contain_text(host)
            browser.close()


def test_api_docs_render_with_the_network_off(live_server, chromium):
    from playwright.sync_api import expect

    page = chromium.new_page()
    blocked: list[str] = []

    def only_loopback(route):
        if urlsplit(route.request.url).hostname in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    page.route("**/*", only_loopback)
    page.goto(live_server.url + "/api/docs/")
    expect(page.locator("h1").first).to_contain_text("Kefu API", timeout=20000)
    expect(page.get_by_text("Every route lives under").first).to_be_visible()
    assert blocked == []
    page.close()


def test_outbox_page_lists_sent_mail_in_english_and_chinese(live_server, chromium, team_a, team_b):
    from django.utils import timezone
    from playwright.sync_api import expect

    from mail.models import MailKind, MailStatus, OutboundMail

    for team in (team_a, team_b):
        OutboundMail.objects.create(
            tenant=team.tenant, kind=MailKind.TRANSCRIPT, key=f"shot-{team.tenant.slug}", recipient=f"v@{team.tenant.slug}.test",
            subject=f"Your conversation with {team.tenant.name}", body="[10:00] You:\nhello\n", due_at=timezone.now(),
            status=MailStatus.SENT, sent_at=timezone.now(),
        )
    context = chromium.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    _log_in(page, live_server.url, team_a.owner.user.email)
    page.goto(f"{live_server.url}/t/{team_a.tenant.slug}/outbox/")
    expect(page.locator("h1")).to_have_text("Outbox")
    expect(page.locator("#outbox tbody tr")).to_have_count(1)
    expect(page.locator("#outbox")).to_contain_text("v@alpha.test")
    assert "bravo" not in page.content()
    page.screenshot(path=str(SHOTS / "mail-outbox-en.png"), full_page=True)
    context.add_cookies([{"name": "django_language", "value": "zh-hans", "url": live_server.url}])
    page.goto(f"{live_server.url}/t/{team_a.tenant.slug}/outbox/")
    expect(page.locator("h1")).to_have_text("发件箱")
    expect(page.locator("#outbox thead")).to_contain_text("收件人")
    page.screenshot(path=str(SHOTS / "mail-outbox-zh-hans.png"), full_page=True)
    context.close()
