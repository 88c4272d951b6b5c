"""The agent's per-turn state travels through chat as data (PLUMBING: no analyzer runs;
the bot result is posted with services.post_bot_result as chat.tasks.respond does)."""

from __future__ import annotations

import pytest

from chat import services, tasks
from tests.chat.conftest import make_widget

pytestmark = pytest.mark.django_db


def test_the_next_turn_gets_each_bot_turns_stored_state(team_a, no_bot):
    contact = services.resolve_visitor(widget=make_widget(team_a, "https://s.example").widget)
    tid = team_a.tenant.pk
    first = services.send_visitor_message(contact=contact, body="Can I cancel my order?", client_msg_id="m-1")
    state = {"kind": "ask_slot", "language": "en", "intent": "cancel_order", "article_ids": [],
             "action": "cancel_order", "slots": {}, "awaiting": "order_number", "asks": 1, "reason": None, "topic": ""}
    services.post_bot_result(tenant_id=tid, inbound_id=first.message.pk, result={
        "action": "clarify", "kind": "ask_slot", "text": "Which order would you like to cancel?", "handoff_reason": None,
        "intent": {"name": "cancel_order", "confidence": 0.9, "out_of_scope": False},
        "sentiment": {"label": "neutral", "score": 0.9}, "language": "en", "citations": [],
        "explanation": {"state": state}})
    second = services.send_visitor_message(contact=contact, body="1002", client_msg_id="m-2")
    built = tasks.build_context(tenant_id=tid, message_id=second.message.pk)
    assert built is not None
    turns = built[0]["turns"]
    assert [t["role"] for t in turns] == ["visitor", "bot", "visitor"]
    assert turns[1]["state"] == state
    assert "state" not in turns[0] and "state" not in turns[2]
