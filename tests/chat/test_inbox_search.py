"""Inbox search and filters (issue 13 #4) through the conversations API: `q` finds words
anywhere in a conversation's messages (not only the last one), in Chinese as in English,
and in the contact's name or e-mail; filters by label, status, agent (assignee) and
creation date; another tenant's words are never found. On PostgreSQL the query plan uses
the trigram GIN index. Plumbing only: the bot is not called (`no_bot`)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from chat import services
from chat.models import Conversation
from tests.chat.conftest import make_widget

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def inbox(team_a, team_b, no_bot):
    w = make_widget(team_a, "https://a.example").widget
    convs = {}
    for name, first, last in (
        ("refund", "我要退款，订单 A-1001", "谢谢"),
        ("parcel", "Where is my PARCEL?", "ok thanks"),
        ("plain", "hello", "bye"),
    ):
        contact = services.resolve_visitor(widget=w, name=f"{name} person")
        conv = services.send_visitor_message(contact=contact, body=first, client_msg_id=f"{name}-1").conversation
        services.send_visitor_message(contact=contact, body=last, client_msg_id=f"{name}-2", conversation_id=conv.pk)
        convs[name] = conv
    services.set_contact_email(contact=convs["plain"].contact, email="zoe@shop.example")
    services.take_over(actor=team_a.agent, conversation_id=convs["parcel"].pk)
    vip = services.create_label(actor=team_a.admin, name="vip")
    services.set_labels(actor=team_a.agent, conversation_id=convs["refund"].pk, label_ids=[vip.pk])
    services.resolve(actor=team_a.agent, conversation_id=convs["plain"].pk)
    wb = make_widget(team_b, "https://b.example").widget
    other = services.resolve_visitor(widget=wb, name="foreign")
    services.send_visitor_message(contact=other, body="我要退款 parcel", client_msg_id="b-1")
    convs["vip"] = vip
    return convs


def ids(team, **params) -> set[int]:
    api = APIClient()
    api.force_login(team.agent.user)
    response = api.get(f"/api/t/{team.tenant.slug}/conversations/", params)
    assert response.status_code == 200, response.content
    return {c["id"] for c in response.json()["results"]}


def test_search_finds_words_in_any_message_and_contacts(team_a, inbox):
    assert ids(team_a, q="退款") == {inbox["refund"].pk}  # a substring of a Chinese sentence
    assert ids(team_a, q="a-1001") == {inbox["refund"].pk}  # not the last message, any case
    assert ids(team_a, q="parcel") == {inbox["parcel"].pk}
    assert ids(team_a, q="ZOE@shop") == {inbox["plain"].pk}  # the contact's e-mail
    assert ids(team_a, q="plain pers") == {inbox["plain"].pk}  # the contact's name
    assert ids(team_a, q="nothing like this") == set()


def test_filters_label_status_agent_and_date(team_a, inbox):
    assert ids(team_a, label=inbox["vip"].pk) == {inbox["refund"].pk}
    assert ids(team_a, status="resolved") == {inbox["plain"].pk}
    assert ids(team_a, agent=team_a.agent.pk) == {inbox["parcel"].pk}
    assert ids(team_a, agent=team_a.agent.pk, q="退款") == set()
    today = timezone.now().date()
    Conversation.objects.for_tenant(team_a.tenant).filter(pk=inbox["plain"].pk).update(
        created_at=timezone.now() - timedelta(days=10)
    )
    assert ids(team_a, since=today.isoformat()) == {inbox["refund"].pk, inbox["parcel"].pk}
    assert ids(team_a, until=(today - timedelta(days=5)).isoformat()) == {inbox["plain"].pk}


def test_bad_filter_is_a_400(team_a, inbox):
    api = APIClient()
    api.force_login(team_a.agent.user)
    assert api.get(f"/api/t/{team_a.tenant.slug}/conversations/", {"since": "yesterday"}).status_code == 400


def test_search_never_crosses_tenants(team_b, inbox):
    found = ids(team_b, q="退款")
    assert len(found) == 1 and not found & {c.pk for k, c in inbox.items() if k != "vip"}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigram indexes are PostgreSQL's")
def test_trigram_indexes_exist(db):
    """The indexes search relies on (that the planner picks them over 100,000 messages is
    measured, with the plan, by chat/reporting/bench.py)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE indexname LIKE '%%_trgm'")
        found = dict(cursor.fetchall())
    assert set(found) == {"msg_body_trgm", "contact_name_trgm", "contact_email_trgm"}
    assert all("gin_trgm_ops" in d and "upper(" in d for d in found.values())
