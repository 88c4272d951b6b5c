"""Chat hands what visitors and agents do to ml's learning loop (chat/learning.py):
thumbs on a bot answer, CSAT, the first human answer after a bot handoff, and a takeover
without a handoff. Plumbing only (the fake analyzer from tests/chat/conftest.py)."""

from __future__ import annotations

import pytest

from chat import services
from chat.models import Message
from ml import services as ml_services
from ml.models import Feedback, SuggestedArticle, TrainingExample, UnansweredQuestion

pytestmark = pytest.mark.django_db(transaction=True)


def _visitor_turn(widget_info, text: str, cmid: str):
    contact = services.resolve_visitor(widget=widget_info.widget)
    posted = services.send_visitor_message(contact=contact, body=text, client_msg_id=cmid)
    return contact, posted


def _bot_answer(tenant_id: int, inbound: Message, intent: str) -> Message:
    result = {
        "action": "answer", "text": "Cards arrive within 5 days.", "handoff_reason": None,
        "intent": {"name": intent, "confidence": 0.9, "out_of_scope": False},
        "sentiment": {"label": "neutral", "score": 0.5}, "language": "en", "citations": [], "explanation": {},
    }
    msg = services.post_bot_result(tenant_id=tenant_id, inbound_id=inbound.pk, result=result)
    assert msg is not None
    return msg


def test_thumbs_up_becomes_a_redacted_confirmed_example_and_csat_is_stored(widget_a, team_a, no_bot):
    ml_services.create_intent(actor=team_a.owner, name="card_arrival", examples=["when will my card come"])
    contact, posted = _visitor_turn(widget_a, "When does my card arrive? mail me at jo@example.com", "t-1")
    bot = _bot_answer(team_a.tenant.pk, posted.message, "card_arrival")
    services.message_feedback(contact=contact, message_id=bot.pk, value=1)

    example = TrainingExample.objects.for_tenant(team_a.tenant).get(source="confirmed")
    assert example.label == "card_arrival" and example.message_id == posted.message.pk
    assert "jo@example.com" not in example.text and "<EMAIL>" in example.text
    assert Feedback.objects.for_tenant(team_a.tenant).get(kind="thumbs_up").value == 1

    services.resolve(actor=team_a.agent, conversation_id=posted.conversation.pk)
    services.submit_csat(contact=contact, conversation_id=posted.conversation.pk, rating=5)
    csat = Feedback.objects.for_tenant(team_a.tenant).get(kind="csat")
    assert csat.value == 5 and csat.conversation_id == posted.conversation.pk


def test_first_human_answer_after_a_handoff_is_suggested_once(widget_a, team_a, no_bot):
    contact, posted = _visitor_turn(widget_a, "Can I pay with Alipay?", "h-1")
    services.request_human(contact=contact, conversation_id=posted.conversation.pk)
    services.agent_send(actor=team_a.agent, conversation_id=posted.conversation.pk, body="Yes, Alipay works at checkout.")
    services.agent_send(actor=team_a.agent, conversation_id=posted.conversation.pk, body="Anything else?")
    services.agent_send(actor=team_a.agent, conversation_id=posted.conversation.pk, body="internal", note=True)
    suggestion = SuggestedArticle.objects.for_tenant(team_a.tenant).get()
    assert suggestion.question == "Can I pay with Alipay?"
    assert suggestion.answer == "Yes, Alipay works at checkout."


def test_takeover_without_handoff_records_the_question_as_a_gap(widget_a, widget_b, team_a, team_b, no_bot):
    _contact, posted = _visitor_turn(widget_a, "Do you ship to Macau?", "g-1")
    services.take_over(actor=team_a.agent, conversation_id=posted.conversation.pk)
    gap = UnansweredQuestion.objects.for_tenant(team_a.tenant).get()
    assert gap.text == "Do you ship to Macau?" and gap.reason == "takeover"
    assert not UnansweredQuestion.objects.for_tenant(team_b.tenant).exists()
    # An agent's reply after a takeover is not a "human answer to a bot handoff".
    services.agent_send(actor=team_a.agent, conversation_id=posted.conversation.pk, body="Yes we do.")
    assert not SuggestedArticle.objects.for_tenant(team_a.tenant).exists()
