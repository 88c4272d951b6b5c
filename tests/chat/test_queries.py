"""What one visitor message costs on the socket path (the consumer's _post_visitor):
one SQL statement on PostgreSQL (seq allocation, insert, reporting event, atomic together);
a resend of the same client_msg_id: the failed statement plus the lookup, nothing stored."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from chat import events, services
from chat.consumers import _post_visitor
from chat.models import Conversation, Message, ReportingEvent, RespondJob
from tests.chat.conftest import make_widget

pytestmark = pytest.mark.django_db(transaction=True)


def _post(contact, cmid, conversation_id=None, body="hello"):
    with events.collect() as box:
        ack = _post_visitor(
            contact=contact,
            content={"client_msg_id": cmid, "body": body, "conversation_id": conversation_id},
            origin="x",
        )
    return ack, box


def test_one_statement_per_visitor_message(team_a, team_b, no_bot):
    w = make_widget(team_a, "https://s.example").widget
    contact = services.resolve_visitor(widget=w)
    first, _ = _post(contact, "m-1")
    cid = first["conversation"]["id"]
    with CaptureQueriesContext(connection) as q:
        ack, box = _post(contact, "m-2", cid, body="second")
    assert len(q.captured_queries) == (1 if connection.vendor == "postgresql" else 7)
    assert (ack["message"]["seq"], ack["duplicate"], ack["conversation"]["last_seq"]) == (2, False, 2)
    assert ack["conversation"]["preview"] == "second"
    # Fan-out to the inbox and to the visitor's other tabs, after the statement.
    # ... and the bot's typing indicator to the visitor (the conversation is bot-handled).
    assert [p["type"] for _g, e in box for p in [e["payload"]]] == ["message", "message", "typing"]
    with CaptureQueriesContext(connection) as qd:
        dup, box = _post(contact, "m-2", cid, body="second")
    assert len(qd.captured_queries) <= 3 and box == []
    assert (dup["duplicate"], dup["message"]["id"]) == (True, ack["message"]["id"])
    third, _ = _post(contact, "m-3", cid)
    assert third["message"]["seq"] == 3  # the failed resend allocated no seq
    msgs = Message.objects.for_tenant(team_a.tenant).order_by("seq")
    assert [(m.seq, m.client_msg_id) for m in msgs] == [(1, "m-1"), (2, "m-2"), (3, "m-3")]
    evs = ReportingEvent.objects.for_tenant(team_a.tenant).filter(kind="visitor_message").order_by("id")
    assert [e.data for e in evs] == [{"message_id": m.pk, "seq": m.seq} for m in msgs]
    assert evs[1].at == msgs[1].created_at and evs[1].widget_id == w.pk
    # The bot is asked once per stored message (conversations start bot-handled).
    assert [mid for _t, mid in no_bot] == [m.pk for m in msgs]
    # ... and its respond outbox row was written by the same statement (issue 9 #6).
    jobs = RespondJob.objects.for_tenant(team_a.tenant).order_by("message_id")
    assert [j.message_id for j in jobs] == [m.pk for m in msgs]


def test_hot_path_refuses_other_visitors_and_resolved_conversations(team_a, no_bot):
    w = make_widget(team_a, "https://s.example").widget
    alice, bob = services.resolve_visitor(widget=w), services.resolve_visitor(widget=w)
    a1, _ = _post(alice, "a-1")
    with pytest.raises(services.ServiceError) as exc:
        _post(bob, "b-1", a1["conversation"]["id"])
    assert exc.value.code == "not_found"
    assert Conversation.objects.for_tenant(team_a.tenant).get(pk=a1["conversation"]["id"]).last_seq == 1
    until = timezone.now() + dt.timedelta(hours=1)
    services.snooze(actor=team_a.agent, conversation_id=a1["conversation"]["id"], until=until)
    woke, _ = _post(alice, "a-2", a1["conversation"]["id"])
    assert woke["conversation"]["status"] == "open"  # a visitor message wakes a snoozed conversation
    services.resolve(actor=team_a.agent, conversation_id=a1["conversation"]["id"])
    after, _ = _post(alice, "a-3", a1["conversation"]["id"])
    assert after["conversation"]["id"] != a1["conversation"]["id"] and after["message"]["seq"] == 1
