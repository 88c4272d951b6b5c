"""Issue 9 #6 on the embedded default (SQLite, tasks in the server's thread pool): the
respond outbox row is written in the message's transaction, the kick runs respond in the
pool, and the row is gone once the bot has replied. Plumbing: the deterministic fake
analyzer (tests/chat/fake_ml.py). `make test` runs it in the embedded pass."""

from __future__ import annotations

import time

import pytest

from chat import services
from chat.models import Message, RespondJob
from tenants import services as tenant_services

pytestmark = [pytest.mark.embedded, pytest.mark.django_db(transaction=True)]


def test_06_outbox_on_sqlite_answers_and_clears(team_a, settings):
    if not settings.EMBEDDED:
        pytest.skip("runs only on the embedded default (no DATABASE_URL)")
    settings.KEFU_CHAT_ANALYZER = "tests.chat.fake_ml.analyze_and_reply"
    widget, _secret = tenant_services.create_widget(actor=team_a.owner, name="W", allowed_origins="https://s.example")
    contact = services.resolve_visitor(widget=widget)
    posted = services.send_visitor_message(contact=contact, body="Opening hours?", client_msg_id="e-1")
    replies = Message.objects.for_tenant(team_a.tenant).filter(sender="bot", reply_to_id=posted.message.pk)
    deadline = time.monotonic() + 20
    while not replies.exists():
        assert time.monotonic() < deadline, "the bot replied through the outbox"
        time.sleep(0.05)
    assert replies.get().body == "Echo: Opening hours?"
    deadline = time.monotonic() + 5
    while RespondJob.objects.for_tenant(team_a.tenant).exists():
        assert time.monotonic() < deadline, "respond cleared its outbox row"
        time.sleep(0.05)
