"""Inbox at work (issue 13 item 4) in headless Chromium: keyboard shortcuts (j/k, /, e), the
unread count in the tab title and a browser Notification for a visitor message in a
conversation that is not open. uvicorn serves the ASGI app against the test PostgreSQL
database with the Redis channel layer; visitor messages go through the real service
(send_visitor_message), whose fan-out reaches the inbox socket. Bot: the plumbing fake."""

from __future__ import annotations

import re
import threading

import pytest
from django.db import connection

from chat import services
from chat.models import Conversation
from tenants import services as tenant_services
from tests.chat.test_browser import CHROMIUM_ARGS
from tests.processes import uvicorn_server

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RECORD_NOTIFICATIONS = """
(() => {
  const Real = window.Notification;
  window.__notified = [];
  function Recording(title, options) { window.__notified.push(title); return new Real(title, options); }
  Object.defineProperty(Recording, "permission", { get: () => Real.permission });
  Recording.requestPermission = (...a) => Real.requestPermission(...a);
  window.Notification = Recording;
})();
"""


def _visitor_conversations(team, names):
    widget, _secret = tenant_services.create_widget(actor=team.owner, name="Shop", allowed_origins="http://127.0.0.2")
    contacts = {}
    for i, name in enumerate(names):
        contact = services.resolve_visitor(widget=widget, name=name)
        services.send_visitor_message(contact=contact, body=f"Question from {name}", client_msg_id=f"v-{i}")
        contacts[name] = contact
    return contacts


def _in_thread(fn):
    """The fan-out uses async_to_sync, which refuses to run on Playwright's event-loop thread."""
    errors = []

    def run():
        try:
            fn()
        except Exception as exc:  # re-raised below, in the test's thread
            errors.append(exc)
        finally:
            connection.close()

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(30)
    if errors:
        raise errors[0]


@pytest.fixture
def redis_channel_layer(settings):
    """The chat conftest pins the in-memory layer; this test's service calls must reach the
    uvicorn process, so use the Redis layer of config/settings.py again."""
    from channels.layers import channel_layers

    from config import settings as real_settings

    settings.CHANNEL_LAYERS = real_settings.CHANNEL_LAYERS
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


def test_keyboard_shortcuts_unread_title_and_notification(team_a, tmp_path, monkeypatch, redis_channel_layer):
    from playwright.sync_api import expect, sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "1")
    contacts = _visitor_conversations(team_a, ["Ann", "Ben", "Cai"])
    with uvicorn_server(
        tmp_path, DJANGO_SETTINGS_MODULE="tests.chat.live_settings", KEFU_TASK_MODE="inprocess"
    ) as base:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            ctx = browser.new_context(viewport={"width": 1400, "height": 900})
            ctx.grant_permissions(["notifications"], origin=base)
            ctx.add_init_script(RECORD_NOTIFICATIONS)
            agent = ctx.new_page()
            agent.goto(base + "/login/")
            agent.fill("input[name=username]", team_a.agent.user.email)
            agent.fill("input[name=password]", "correct-horse-9")
            agent.click("button[type=submit]")
            agent.wait_for_url(lambda url: "/login/" not in url, timeout=15000)
            agent.goto(f"{base}/t/{team_a.tenant.slug}/inbox/")
            expect(agent.locator("#live")).to_have_class("badge ok", timeout=15000)
            expect(agent.locator("#shortcuts-hint")).to_contain_text("Keyboard shortcuts")
            expect(agent.locator("#btn-notify")).to_be_hidden()  # already granted
            items = agent.locator("#conv-list li")
            expect(items).to_have_count(3, timeout=15000)
            expect(agent).to_have_title(re.compile(r"^\(3\) Inbox"), timeout=5000)
            ids = [int(items.nth(i).get_attribute("data-id")) for i in range(3)]

            agent.locator("body").press("j")
            expect(items.nth(0)).to_have_class(re.compile(r"\bactive\b"))
            expect(agent).to_have_title(re.compile(r"^\(2\) Inbox"), timeout=5000)  # opening reads it
            agent.keyboard.press("j")
            expect(items.nth(1)).to_have_class(re.compile(r"\bactive\b"))
            expect(items.nth(0)).not_to_have_class(re.compile(r"\bactive\b"))
            expect(agent).to_have_title(re.compile(r"^\(1\) Inbox"), timeout=5000)
            agent.keyboard.press("k")
            expect(items.nth(0)).to_have_class(re.compile(r"\bactive\b"))

            agent.keyboard.press("r")
            expect(agent.locator("#reply")).to_be_focused()
            agent.keyboard.press("j")  # typing in the reply box: no shortcut
            expect(agent.locator("#reply")).to_have_value("j")
            agent.locator("#reply").fill("")
            agent.keyboard.press("Escape")
            expect(agent.locator("#reply")).not_to_be_focused()

            agent.keyboard.press("/")
            expect(agent.locator("#conv-search")).to_be_focused()
            agent.keyboard.press("Escape")

            agent.keyboard.press("e")
            expect(agent.locator("#thread-status")).to_have_text("Resolved", timeout=10000)

            # A visitor message to a read conversation that is not open: the count goes up by one.
            expect(agent).to_have_title(re.compile(r"^\(1\) Inbox"), timeout=5000)  # only the third is unread
            other = Conversation.objects.for_tenant(team_a.tenant).get(pk=ids[1])
            name = next(n for n, c in contacts.items() if c.pk == other.contact_id)
            _in_thread(lambda: services.send_visitor_message(
                contact=contacts[name], body="Anyone there?", client_msg_id="v-late", conversation_id=other.pk
            ))
            expect(agent).to_have_title(re.compile(r"^\(2\) Inbox"), timeout=10000)
            agent.wait_for_function("window.__notified.length > 0", timeout=10000)
            assert agent.evaluate("window.__notified") == [name]
            browser.close()

    assert Conversation.objects.for_tenant(team_a.tenant).get(pk=ids[0]).status == "resolved"
