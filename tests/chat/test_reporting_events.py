"""Reporting events written by chat.services for the dashboards, the "This solved my
problem" confirmation and the bot auto-resolve task. Plumbing only: the analyzer is not
called (results are posted with services.post_bot_result, as chat.tasks.respond does).
Expected values were worked out by hand from the steps of each test."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from chat import services, tasks
from chat.models import Conversation, Message, ReportingEvent
from chat.reporting import rollups
from chat.reporting.models import ConversationFact
from tenants.errors import ServiceError
from tests.chat.conftest import make_widget

pytestmark = pytest.mark.django_db(transaction=True)

ANSWER = {
    "action": "answer",
    "text": "Your order ships tomorrow.",
    "intent": {"name": "order_status", "confidence": 0.8},
    "sentiment": {"label": "negative", "score": 0.91},
    "language": "en",
}


def events(tenant, conv=None) -> list[tuple[str, dict]]:
    qs = ReportingEvent.objects.for_tenant(tenant).order_by("id")
    if conv is not None:
        qs = qs.filter(conversation_id=conv.pk)
    return [(e.kind, e.data) for e in qs]


def bot_conversation(team, text="Where is my order?", cmid="m-1", widget=None):
    """A visitor message answered by the bot: (contact, conversation, inbound, bot message)."""
    widget = widget or make_widget(team, "https://s.example").widget
    contact = services.resolve_visitor(widget=widget)
    posted = services.send_visitor_message(contact=contact, body=text, client_msg_id=cmid)
    bot = services.post_bot_result(tenant_id=team.tenant.pk, inbound_id=posted.message.pk, result=ANSWER)
    assert bot is not None
    return contact, posted.conversation, posted.message, bot


def test_created_visitor_message_and_bot_replied_carry_what_the_dashboards_need(team_a, no_bot):
    contact, conv, inbound, bot = bot_conversation(team_a)
    # A resend of the same client_msg_id is one message and one event; a new one is another.
    assert services.send_visitor_message(contact=contact, body="x", client_msg_id="m-1", conversation_id=conv.pk).duplicate
    second = services.send_visitor_message(contact=contact, body="Thanks", client_msg_id="m-2", conversation_id=conv.pk)
    assert events(team_a.tenant) == [
        ("conversation_created", {"contact_id": contact.pk}),
        ("visitor_message", {"message_id": inbound.pk, "seq": 1}),
        (
            "bot_replied",
            {"action": "answer", "intent": "order_status", "sentiment": "negative", "message_id": bot.pk},
        ),
        ("visitor_message", {"message_id": second.message.pk, "seq": 3}),
    ]
    # The label in the event is the one stored on the visitor's message.
    assert Message.objects.for_tenant(team_a.tenant).get(pk=inbound.pk).sentiment == "negative"
    ev = ReportingEvent.objects.for_tenant(team_a.tenant).get(kind="visitor_message", data__seq=1)
    assert ev.at == inbound.created_at


def test_solved_button_resolves_as_the_bot_then_asks_for_csat(team_a, team_b, no_bot):
    contact, conv, inbound, bot = bot_conversation(team_a)
    # Another visitor (same widget) cannot confirm this conversation's answer.
    stranger = services.resolve_visitor(widget=make_widget(team_a, "https://s.example").widget)
    with pytest.raises(ServiceError) as exc:
        services.confirm_resolution(contact=stranger, message_id=bot.pk)
    assert exc.value.code == "not_found"
    # Only a bot message can be confirmed.
    with pytest.raises(ServiceError):
        services.confirm_resolution(contact=contact, message_id=inbound.pk)
    assert not ReportingEvent.objects.for_tenant(team_a.tenant).filter(kind="resolution_confirmed").exists()

    resolved = services.confirm_resolution(contact=contact, message_id=bot.pk)
    assert (resolved.status, resolved.csat_state, resolved.handled_by) == ("resolved", "requested", "bot")
    tail = [(k, d) for k, d in events(team_a.tenant, conv)][-3:]
    assert tail == [
        ("resolution_confirmed", {"message_id": bot.pk, "cycle": 1}),
        ("resolved", {"cycle": 1, "handled_by": "bot", "by": "visitor"}),
        ("csat_sent", {"cycle": 1}),
    ]
    ev = ReportingEvent.objects.for_tenant(team_a.tenant).get(kind="resolved")
    assert ev.agent_id is None
    # A second click (another tab) changes nothing.
    services.confirm_resolution(contact=contact, message_id=bot.pk)
    assert ReportingEvent.objects.for_tenant(team_a.tenant).filter(conversation_id=conv.pk).count() == 6
    # Confirmed by the visitor: AI-resolved at once, no 24 h wait.
    rollups.refresh_tenant(tenant=team_a.tenant)
    fact = ConversationFact.objects.for_tenant(team_a.tenant).get(conversation_id=conv.pk)
    assert (fact.ai_resolved, fact.ai_pending, fact.sentiment) == (True, False, "negative")


def test_solved_after_a_person_took_over_is_refused_and_stores_nothing(team_a, no_bot):
    contact, conv, _inbound, bot = bot_conversation(team_a)
    services.take_over(actor=team_a.agent, conversation_id=conv.pk)
    before = ReportingEvent.objects.for_tenant(team_a.tenant).count()
    with pytest.raises(ServiceError) as exc:
        services.confirm_resolution(contact=contact, message_id=bot.pk)
    assert exc.value.code == "handled_by_human"
    assert ReportingEvent.objects.for_tenant(team_a.tenant).count() == before
    assert Conversation.objects.for_tenant(team_a.tenant).get(pk=conv.pk).status == "open"


def _idle(conv, hours: float, now: dt.datetime) -> None:
    Conversation.objects.for_tenant(conv.tenant_id).filter(pk=conv.pk).update(
        last_message_at=now - dt.timedelta(hours=hours)
    )


def test_auto_resolve_only_idle_bot_handled_conversations(team_a, team_b, no_bot, settings):
    now = timezone.now()
    w = make_widget(team_a, "https://s.example").widget
    _, quiet, _, _ = bot_conversation(team_a, cmid="a", widget=w)  # bot answered, quiet 25 h: resolved
    _, recent, _, _ = bot_conversation(team_a, cmid="b", widget=w)  # quiet 23 h: stays open
    _, handed, _, _ = bot_conversation(team_a, cmid="c", widget=w)
    services.take_over(actor=team_a.agent, conversation_id=handed.pk)  # a person took it: never
    contact_d, unanswered, _, _ = bot_conversation(team_a, cmid="d", widget=w)
    services.send_visitor_message(contact=contact_d, body="Hello?", client_msg_id="d2", conversation_id=unanswered.pk)
    contact_e = services.resolve_visitor(widget=w)  # the bot never answered: never
    no_reply = services.send_visitor_message(contact=contact_e, body="Hi", client_msg_id="e").conversation
    _, foreign, _, _ = bot_conversation(team_b, cmid="f")  # tenant B, quiet 30 h
    for conv, hours in ((quiet, 25), (recent, 23), (handed, 48), (unanswered, 48), (no_reply, 48), (foreign, 30)):
        _idle(conv, hours, now)

    assert services.auto_resolve_idle(tenant_id=team_a.tenant.pk, now=now) == 1
    status = dict(Conversation.all_tenants.values_list("pk", "status"))
    assert status[quiet.pk] == "resolved"
    assert [status[c.pk] for c in (recent, handed, unanswered, no_reply, foreign)] == ["open"] * 5
    assert events(team_a.tenant, quiet)[-2:] == [
        ("resolved", {"cycle": 1, "handled_by": "bot", "by": "auto"}),
        ("csat_sent", {"cycle": 1}),
    ]
    assert Message.objects.for_tenant(team_a.tenant).filter(conversation_id=quiet.pk, event="resolved").count() == 1
    # Idempotent.
    assert services.auto_resolve_idle(tenant_id=team_a.tenant.pk, now=now) == 0

    # The beat task covers every tenant and honours the setting (0 = off).
    settings.KEFU_BOT_AUTO_RESOLVE_AFTER_S = 0
    assert tasks.housekeeping() == {"woken": 0, "auto_resolved": 0}
    settings.KEFU_BOT_AUTO_RESOLVE_AFTER_S = 20 * 3600  # 20 h: B (30 h) and A's 23 h one now qualify
    assert tasks.housekeeping() == {"woken": 0, "auto_resolved": 2}
    status = dict(Conversation.all_tenants.values_list("pk", "status"))
    assert (status[recent.pk], status[foreign.pk]) == ("resolved", "resolved")
    # A second run finds nothing left to resolve.
    assert tasks.housekeeping() == {"woken": 0, "auto_resolved": 0}


def test_wake_snoozed_task(team_a, no_bot):
    _, conv, _, _ = bot_conversation(team_a)
    services.snooze(actor=team_a.agent, conversation_id=conv.pk, until=timezone.now() + dt.timedelta(seconds=30))
    assert tasks.wake_snoozed() == 0
    Conversation.objects.for_tenant(team_a.tenant).filter(pk=conv.pk).update(
        snoozed_until=timezone.now() - dt.timedelta(seconds=1)
    )
    assert tasks.wake_snoozed() == 1
    assert Conversation.objects.for_tenant(team_a.tenant).get(pk=conv.pk).status == "open"


def test_real_traffic_counts_as_ai_resolved_after_24h_quiet(team_a, no_bot):
    """End to end: services write the events, auto-resolve closes, the roll-up verifies."""
    contact, conv, _, _ = bot_conversation(team_a)
    contact2, conv2, _, _ = bot_conversation(team_a, cmid="z")
    now = timezone.now() + dt.timedelta(hours=25)  # both idle for 25 h
    assert services.auto_resolve_idle(tenant_id=team_a.tenant.pk, now=now) == 2
    # contact2 comes back 1 h after the resolve (a new conversation): not an AI resolution.
    later = services.send_visitor_message(contact=contact2, body="Still broken", client_msg_id="z2")
    assert later.conversation.pk != conv2.pk
    ReportingEvent.objects.for_tenant(team_a.tenant).filter(
        conversation_id=later.conversation.pk
    ).update(at=now + dt.timedelta(hours=1))
    rollups.refresh_tenant(tenant=team_a.tenant, now=now + dt.timedelta(hours=2))
    facts = {f.conversation_id: f for f in ConversationFact.objects.for_tenant(team_a.tenant)}
    assert (facts[conv.pk].ai_resolved, facts[conv.pk].ai_pending) == (False, True)  # waiting out 24 h
    assert (facts[conv2.pk].ai_resolved, facts[conv2.pk].ai_pending) == (False, False)
    rollups.refresh_tenant(tenant=team_a.tenant, now=now + dt.timedelta(hours=25))
    facts = {f.conversation_id: f for f in ConversationFact.objects.for_tenant(team_a.tenant)}
    assert (facts[conv.pk].ai_resolved, facts[conv2.pk].ai_resolved) == (True, False)
