"""The chat <-> ml contract for handoff reasons (ml.api.HandoffReason).

Every reason has a dashboard label with a zh-hans translation; a reason the REAL agent
emits (MiniLM encoder, generator off) reaches the stored conversation, the reporting
event and the dashboard unchanged; a reason outside the contract is refused loudly.
"""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import translation

from chat import services, tasks
from chat.models import HANDOFF_REASONS, Conversation, ReportingEvent
from chat.reporting import rollups
from chat.reporting.views import REASON_LABELS
from ml.api import HANDOFF_REASON_LABELS, HandoffReason, check_bot_result
from tests.ai.conftest import seed_team
from tests.chat.conftest import make_widget

pytestmark = pytest.mark.django_db(transaction=True)

# Analyzer for the "unknown reason" test: a plumbing stand-in, not ML behaviour.
BAD_REASON_CALLS: list[int] = []


def analyzer_with_unknown_reason(*, tenant_id, conversation, on_token=None):
    BAD_REASON_CALLS.append(tenant_id)
    return {"action": "handoff", "text": "bye", "handoff_reason": "made_up_reason", "intent": {}, "sentiment": {},
            "language": "en", "citations": [], "explanation": {}}


def test_every_reason_has_a_dashboard_label_translated_to_chinese():
    assert set(HANDOFF_REASONS) == {r.value for r in HandoffReason}
    for reason in HandoffReason:
        english = str(REASON_LABELS[reason.value])
        assert english and english == str(HANDOFF_REASON_LABELS[reason])
        with translation.override("zh-hans"):
            chinese = str(REASON_LABELS[reason.value])
        assert chinese != english and any("\u4e00" <= ch <= "\u9fff" for ch in chinese), (reason, chinese)


def test_everything_the_agent_can_emit_is_in_the_contract():
    """Drift guard: the turn kinds, wire actions and handoff reasons the agent code names
    (literal reasons handed to ml.agent._handoff / finish, ml.actions.SIGN_IN_REASON) are
    all members of the ml.api enums, so check_bot_result never refuses a real turn."""
    import ast
    from pathlib import Path

    from ml import actions
    from ml.api import BotAction, BotTurnKind
    from ml.dialogue import state

    assert set(state.KINDS) <= {k.value for k in BotTurnKind}
    assert set(state.WIRE_ACTION.values()) <= {a.value for a in BotAction}
    reasons = {actions.SIGN_IN_REASON}
    tree = ast.parse(Path(__file__).resolve().parents[2].joinpath("ml", "agent.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "_handoff" and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant):
                reasons.add(first.value)
            elif isinstance(first, ast.IfExp):
                reasons |= {first.body.value, first.orelse.value}  # type: ignore[attr-defined]
    assert len(reasons) >= 8
    assert reasons <= {r.value for r in HandoffReason}, reasons - {r.value for r in HandoffReason}


def test_agent_reason_arrives_unchanged_in_conversation_and_dashboard(team_a, client, settings, monkeypatch, no_bot):
    monkeypatch.setattr("chat.events.send_now", lambda *a, **k: None)
    settings.KEFU_CHAT_ANALYZER = "ml.api.analyze_and_reply"  # the production analyzer, real agent
    seed_team(team_a, policy={"max_bot_turns": 1})
    info = make_widget(team_a, "https://shop.example")
    contact = services.resolve_visitor(widget=info.widget)
    posted = services.send_visitor_message(contact=contact, body="How long does shipping take?", client_msg_id="m-1")
    conv = posted.conversation
    Conversation.objects.for_tenant(team_a.tenant).filter(pk=conv.pk).update(bot_turns=1)  # one bot reply so far
    assert tasks.respond(team_a.tenant.pk, posted.message.pk) == "posted"

    conv.refresh_from_db()
    assert (conv.handled_by, conv.handoff_reason) == ("human", "max_bot_turns")
    assert ReportingEvent.objects.for_tenant(team_a.tenant).filter(kind="handoff", reason="max_bot_turns").count() == 1

    rollups.refresh_tenant(tenant=team_a.tenant)
    client.force_login(team_a.owner.user)
    body = client.get(reverse("reporting:dashboard", args=[team_a.tenant.slug])).content.decode()
    assert "Bot turn limit" in body and "metric=handoff_reason" in body and "max_bot_turns" in body


def test_unknown_reason_is_refused_and_the_visitor_still_reaches_a_person(team_a, settings, monkeypatch, caplog, no_bot):
    monkeypatch.setattr("chat.events.send_now", lambda *a, **k: None)
    with pytest.raises(ValueError):
        check_bot_result({"action": "handoff", "handoff_reason": "made_up_reason"})
    settings.KEFU_CHAT_ANALYZER = "tests.chat.test_handoff_contract.analyzer_with_unknown_reason"
    info = make_widget(team_a, "https://shop.example")
    contact = services.resolve_visitor(widget=info.widget)
    posted = services.send_visitor_message(contact=contact, body="hello", client_msg_id="m-1")
    with pytest.raises(ValueError):  # the service itself never stores an unknown reason
        services.post_bot_result(
            tenant_id=team_a.tenant.pk, inbound_id=posted.message.pk,
            result={"action": "handoff", "text": "x", "handoff_reason": "made_up_reason"},  # type: ignore[typeddict-item]
        )
    tasks.respond(team_a.tenant.pk, posted.message.pk)
    assert BAD_REASON_CALLS
    conv = Conversation.objects.for_tenant(team_a.tenant).get(pk=posted.conversation.pk)
    assert conv.handoff_reason == "model_error"
    assert "made_up_reason" in caplog.text  # logged, not silently rewritten
