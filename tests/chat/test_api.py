"""The chat REST API (/api/t/<tenant>/conversations/...): list and filter, history, send as
agent, assign, resolve; another tenant's conversation is a 404; bad input is a 400 with a
clear message and stores nothing. Plumbing only (the bot is not called: `no_bot`)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from chat import services
from chat.models import Conversation, Message, ReportingEvent
from tests.chat.conftest import make_widget

pytestmark = pytest.mark.django_db(transaction=True)


def url(team, *parts) -> str:
    tail = "".join(f"{p}/" for p in parts)
    return f"/api/t/{team.tenant.slug}/conversations/{tail}"


@pytest.fixture
def api(team_a) -> APIClient:
    client = APIClient()
    client.force_login(team_a.agent.user)
    return client


@pytest.fixture
def convs(team_a, team_b, no_bot):
    """Tenant A: `bot` (bot-handled, 1 visitor message), `human` (taken over by the agent,
    labelled 'vip'), `done` (resolved by the admin). Tenant B: `foreign`."""
    w = make_widget(team_a, "https://a.example").widget
    out = {}
    for name, text in (("bot", "Where is my parcel?"), ("human", "I need a refund"), ("done", "Thanks, bye")):
        contact = services.resolve_visitor(widget=w, name=name.title())
        out[name] = services.send_visitor_message(contact=contact, body=text, client_msg_id=f"{name}-1").conversation
    services.take_over(actor=team_a.agent, conversation_id=out["human"].pk)
    vip = services.create_label(actor=team_a.admin, name="vip")
    services.set_labels(actor=team_a.agent, conversation_id=out["human"].pk, label_ids=[vip.pk])
    services.resolve(actor=team_a.admin, conversation_id=out["done"].pk)
    wb = make_widget(team_b, "https://b.example").widget
    cb = services.resolve_visitor(widget=wb)
    out["foreign"] = services.send_visitor_message(contact=cb, body="B's secret", client_msg_id="b-1").conversation
    out["vip"] = vip
    return out


def ids(resp) -> set[int]:
    assert resp.status_code == 200, resp.content
    return {c["id"] for c in resp.json()["results"]}


def test_list_and_filters(api, team_a, convs):
    c = convs
    assert ids(api.get(url(team_a))) == {c["bot"].pk, c["human"].pk, c["done"].pk}
    assert ids(api.get(url(team_a), {"status": "resolved"})) == {c["done"].pk}
    assert ids(api.get(url(team_a), {"status": "open"})) == {c["bot"].pk, c["human"].pk}
    assert ids(api.get(url(team_a), {"handled_by": "human"})) == {c["human"].pk}
    assert ids(api.get(url(team_a), {"view": "mine"})) == {c["human"].pk}  # the agent took it over
    assert ids(api.get(url(team_a), {"view": "unassigned"})) == {c["bot"].pk, c["done"].pk}
    assert ids(api.get(url(team_a), {"label": c["vip"].pk})) == {c["human"].pk}
    row = next(r for r in api.get(url(team_a), {"label": c["vip"].pk}).json()["results"])
    assert row["labels"] == [{"id": c["vip"].pk, "name": "vip", "color": "#64748b"}]
    assert row["contact"]["name"] == "Human"


def test_history_in_seq_order_and_after_seq(api, team_a, convs):
    conv = convs["human"]
    resp = api.get(url(team_a, conv.pk, "messages"))
    assert resp.status_code == 200
    msgs = resp.json()
    # The visitor message, then the take-over's system message.
    assert [(m["seq"], m["sender"], m["event"]) for m in msgs] == [(1, "visitor", ""), (2, "system", "agent_joined")]
    assert msgs[0]["body"] == "I need a refund"
    assert [m["seq"] for m in api.get(url(team_a, conv.pk, "messages"), {"after_seq": 1}).json()] == [2]
    bad = api.get(url(team_a, conv.pk, "messages"), {"after_seq": "x"})
    assert bad.status_code == 400 and "integers" in bad.json()["detail"]


def test_send_as_agent_takes_over_and_is_idempotent(api, team_a, convs):
    conv = convs["bot"]
    resp = api.post(url(team_a, conv.pk, "messages"), {"body": "Hi, I'm Ann.", "client_msg_id": "ag-1"}, format="json")
    assert resp.status_code == 201, resp.content
    m = resp.json()
    # seq 1 visitor, 2 agent_joined (the reply took it over from the bot), 3 this reply.
    assert (m["seq"], m["sender"], m["author"], m["body"]) == (3, "agent", team_a.agent.pk, "Hi, I'm Ann.")
    again = api.post(url(team_a, conv.pk, "messages"), {"body": "Hi, I'm Ann.", "client_msg_id": "ag-1"}, format="json")
    assert again.status_code == 200 and again.json()["id"] == m["id"]
    c = Conversation.objects.for_tenant(team_a.tenant).get(pk=conv.pk)
    assert (c.handled_by, c.assignee_id, c.last_seq) == ("human", team_a.agent.pk, 3)
    kinds = list(ReportingEvent.objects.for_tenant(team_a.tenant).filter(conversation_id=conv.pk).values_list("kind", flat=True))
    assert kinds.count("first_human_reply") == 1 and kinds.count("agent_replied") == 1
    note = api.post(url(team_a, conv.pk, "messages"), {"body": "VIP customer", "note": True}, format="json")
    assert note.status_code == 201 and note.json()["sender"] == "note"


def test_assign_and_resolve(api, team_a, convs):
    conv = convs["bot"]
    resp = api.post(url(team_a, conv.pk, "assign"), {"assignee": team_a.admin.pk}, format="json")
    assert resp.status_code == 200 and resp.json()["assignee"] == team_a.admin.pk
    resp = api.post(url(team_a, conv.pk, "resolve"))
    assert resp.status_code == 200
    body = resp.json()
    assert (body["status"], body["csat_state"]) == ("resolved", "requested") and body["resolved_at"]
    ev = ReportingEvent.objects.for_tenant(team_a.tenant).get(conversation_id=conv.pk, kind="resolved")
    assert ev.agent_id == team_a.agent.pk and ev.data["by"] == "agent"
    # Resolving again is a no-op; reopening starts cycle 2.
    assert api.post(url(team_a, conv.pk, "resolve")).status_code == 200
    assert ReportingEvent.objects.for_tenant(team_a.tenant).filter(conversation_id=conv.pk, kind="resolved").count() == 1
    assert api.post(url(team_a, conv.pk, "reopen")).json()["cycle"] == 2


def test_another_tenants_conversation_is_404_everywhere(api, team_a, team_b, convs):
    foreign = convs["foreign"]
    before = (Message.all_tenants.count(), ReportingEvent.all_tenants.count())
    assert foreign.pk not in ids(api.get(url(team_a)))
    assert api.get(url(team_a, foreign.pk)).status_code == 404
    assert api.get(url(team_a, foreign.pk, "messages")).status_code == 404
    for action, data in (
        ("messages", {"body": "hello"}),
        ("assign", {"assignee": team_a.agent.pk}),
        ("resolve", {}),
        ("takeover", {}),
        ("reopen", {}),
    ):
        assert api.post(url(team_a, foreign.pk, action), data, format="json").status_code == 404, action
    # The same conversation through tenant B's URL: A's agent is no member there.
    assert api.get(url(team_b, foreign.pk)).status_code in (403, 404)
    assert api.get(url(team_b, foreign.pk)).status_code == api.get(url(team_b, 999_999_999)).status_code
    assert (Message.all_tenants.count(), ReportingEvent.all_tenants.count()) == before
    assert Conversation.all_tenants.get(pk=foreign.pk).status == "open"


def test_assign_to_a_member_of_another_tenant_is_400_and_stores_nothing(api, team_a, team_b, convs):
    conv = convs["bot"]
    resp = api.post(url(team_a, conv.pk, "assign"), {"assignee": team_b.agent.pk}, format="json")
    assert resp.status_code == 400
    assert resp.json() == {"detail": "Member not found.", "code": "invalid"}
    assert Conversation.objects.for_tenant(team_a.tenant).get(pk=conv.pk).assignee_id is None


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({}, "body", "This field is required."),
        ({"body": "   "}, "detail", "The message is empty."),
        ({"body": "x" * 4001}, "detail", "The message is too long (at most 4000 characters)."),
        ({"body": "hi", "client_msg_id": "no spaces allowed"}, "detail", "client_msg_id must be"),
        ({"body": ["not", "text"]}, "body", "Not a valid string."),
    ],
)
def test_bad_message_is_400_with_a_clear_message_and_nothing_stored(api, team_a, convs, payload, field, message):
    conv = convs["bot"]
    before = (
        Message.objects.for_tenant(team_a.tenant).filter(conversation_id=conv.pk).count(),
        ReportingEvent.objects.for_tenant(team_a.tenant).count(),
    )
    resp = api.post(url(team_a, conv.pk, "messages"), payload, format="json")
    assert resp.status_code == 400
    got = resp.json()[field]
    assert message in (got if isinstance(got, str) else " ".join(got))
    after = (
        Message.objects.for_tenant(team_a.tenant).filter(conversation_id=conv.pk).count(),
        ReportingEvent.objects.for_tenant(team_a.tenant).count(),
    )
    assert after == before
    c = Conversation.objects.for_tenant(team_a.tenant).get(pk=conv.pk)
    assert (c.handled_by, c.last_seq) == ("bot", 1)  # not taken over half-way


def test_reply_to_a_resolved_conversation_is_409_and_stores_nothing(api, team_a, convs):
    conv = convs["done"]
    last_seq = Conversation.objects.for_tenant(team_a.tenant).get(pk=conv.pk).last_seq
    resp = api.post(url(team_a, conv.pk, "messages"), {"body": "hello?"}, format="json")
    assert resp.status_code == 409 and resp.json()["code"] == "resolved"
    assert "Reopen" in resp.json()["detail"]
    assert Conversation.objects.for_tenant(team_a.tenant).get(pk=conv.pk).last_seq == last_seq


@pytest.mark.parametrize(
    ("params", "field"),
    [({"status": "closed"}, "status"), ({"view": "everything"}, "view"), ({"label": "vip"}, "label")],
)
def test_bad_filters_are_400(api, team_a, convs, params, field):
    resp = api.get(url(team_a), params)
    assert resp.status_code == 400 and field in resp.json()


def test_outsider_and_anonymous_get_nothing(team_a, convs, outsider):
    anon = APIClient()
    assert anon.get(url(team_a)).status_code in (401, 403)
    client = APIClient()
    client.force_login(outsider)
    assert client.get(url(team_a)).status_code in (403, 404)
    assert client.post(url(team_a, convs["bot"].pk, "resolve")).status_code in (403, 404)
    assert Conversation.objects.for_tenant(team_a.tenant).get(pk=convs["bot"].pk).status == "open"
