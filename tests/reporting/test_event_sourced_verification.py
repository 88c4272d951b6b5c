"""The 24 h "no new visitor message" check of AI resolutions reads only reporting events:
visitor_message events of the conversation, conversation_created events (data.contact_id)
of the contact's other conversations, and resolution_confirmed. Hand-worked histories."""

from __future__ import annotations

import datetime as dt

import pytest

from chat.models import Message
from chat.reporting import rollups
from chat.reporting.compute import Ev, fold, verify_ai
from chat.reporting.models import ConversationFact
from tests.reporting.helpers import History, at, widget

H = dt.timedelta(hours=1)
T = at(2024, 6, 3, 9)


def _bot_resolved(extra: list[Ev]) -> list[Ev]:
    base = [
        Ev(1, "conversation_created", T, data={"contact_id": 7}),
        Ev(2, "visitor_message", T, data={"seq": 1}),
        Ev(3, "bot_replied", T + 0.01 * H, data={"intent": "faq", "sentiment": "positive"}),
        Ev(4, "resolved", T + H, data={"handled_by": "bot", "by": "auto"}),
    ]
    return base + extra


@pytest.mark.parametrize(
    ("extra", "now", "expected"),
    [
        ([], T + 2 * H, (False, True)),  # within 24 h of the resolve: pending
        ([], T + 25 * H + dt.timedelta(seconds=1), (True, False)),  # quiet for 24 h
        ([Ev(5, "visitor_message", T + 10 * H)], T + 30 * H, (False, False)),  # came back at +9 h
        ([Ev(5, "visitor_message", T + 26 * H)], T + 30 * H, (True, False)),  # came back after 25 h
        ([Ev(5, "resolution_confirmed", T + 0.5 * H)], T + 2 * H, (True, False)),  # "This solved my problem"
    ],
)
def test_fold_uses_visitor_message_events(extra, now, expected):
    fact = fold(_bot_resolved(extra))
    assert fact.contact_id == 7 and fact.sentiment == "positive"
    verify_ai(fact, now=now)
    assert (fact.ai_resolved, fact.ai_pending) == expected


@pytest.mark.django_db
def test_rollup_reads_events_not_messages(team_a, team_b):
    tenant = team_a.tenant
    h = History(tenant, widget(tenant))
    # 1: resolved by the bot, the visitor wrote again 2 h later in the same conversation
    #    (a visitor_message event only: no Message row exists) -> not AI-resolved.
    c1 = h.conversation(T)
    h.bot(c1, T + 60 * dt.timedelta(seconds=1))
    h.ev(c1, "resolved", T + H)
    h.ev(c1, "visitor_message", T + 3 * H)
    # 2: resolved by the bot; the same contact opens a new conversation 5 h later -> not.
    c2 = h.conversation(T)
    h.bot(c2, T + H / 2)
    h.ev(c2, "resolved", T + H)
    c3 = h.conversation(T + 6 * H, contact=c2.contact)
    # 4: resolved by the bot, quiet -> AI-resolved; a Message row after the resolve that has
    #    no event does not count (the check is event-sourced).
    c4 = h.conversation(T)
    h.bot(c4, T + H / 2)
    h.ev(c4, "resolved", T + H)
    late = Message.objects.create(tenant=tenant, conversation=c4, seq=1, sender="visitor", body="late")
    Message.objects.for_tenant(tenant).filter(pk=late.pk).update(created_at=T + 2 * H)
    # Tenant B: a conversation_created with the same contact id number must not matter.
    hb = History(team_b.tenant, widget(team_b.tenant))
    hb.ev(hb.conversation(T + 2 * H), "conversation_created", T + 2 * H, data={"contact_id": c4.contact_id})
    rollups.refresh_tenant(tenant=tenant, now=T + 40 * H)
    facts = {f.conversation_id: f for f in ConversationFact.objects.for_tenant(tenant)}
    assert {c: facts[c.pk].ai_resolved for c in (c1, c2, c3, c4)} == {c1: False, c2: False, c3: False, c4: True}
