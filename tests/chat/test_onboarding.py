"""The onboarding checklist (issue 13 #7): live states from the real database, the widget's
first hello through the real socket consumer, the page in en and zh-hans."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.testing.websocket import WebsocketCommunicator

from chat import onboarding, services
from config.asgi import application
from ml import services as ml_services
from ml.models import ArticleStatus
from tenants import services as tenant_services
from tenants.models import Membership, Widget
from tests.chat.conftest import make_widget

ORIGIN = "https://start.example"


def _states(tenant) -> dict[str, bool]:
    return {item.key: item.done for item in onboarding.onboarding_checklist(tenant=tenant)}


def _fill_other_tenant(team) -> None:
    """Everything done in another tenant: none of it may count for the new one."""
    ml_services.create_article(actor=team.owner, title="Other", body="Theirs.", status=ArticleStatus.PUBLISHED)
    info = make_widget(team, "https://other.example")
    tenant_services.record_widget_connected(widget=info.widget)
    contact = services.resolve_visitor(widget=info.widget)
    inbound = services.send_visitor_message(contact=contact, body="hi", client_msg_id="o-1")
    _post_bot_reply(team.tenant.pk, inbound.message.pk)


def _post_bot_reply(tenant_id: int, inbound_id: int) -> None:
    services.post_bot_result(tenant_id=tenant_id, inbound_id=inbound_id, result={
        "action": "answer", "kind": "answer", "text": "Hello from the bot.", "handoff_reason": None,
        "intent": {"name": "greet", "confidence": 0.9, "out_of_scope": False},
        "sentiment": {"label": "neutral", "score": 0.9}, "language": "en", "citations": [], "explanation": {}})


@pytest.mark.django_db
def test_states_flip_as_each_step_is_done_and_other_tenants_never_count(team_a):
    _fill_other_tenant(team_a)
    user, tenant = tenant_services.sign_up(email="new@start.example", password="long-enough-9", business_name="Start Co")
    owner = Membership.objects.for_tenant(tenant).get(user=user)
    assert _states(tenant) == {"knowledge": False, "widget": False, "teammate": False, "bot": False}

    ml_services.create_article(actor=owner, title="Draft", body="Not yet.")  # a draft does not count
    assert not _states(tenant)["knowledge"]
    ml_services.create_article(actor=owner, title="Hours", body="9 to 5.", status=ArticleStatus.PUBLISHED)
    assert _states(tenant)["knowledge"]

    widget, _secret = tenant_services.create_widget(actor=owner, name="Site", allowed_origins=ORIGIN)
    assert not _states(tenant)["widget"]  # created but never connected
    tenant_services.record_widget_connected(widget=widget)
    assert _states(tenant)["widget"]

    tenant_services.create_invitation(actor=owner, role="agent", email="mate@start.example")
    assert _states(tenant)["teammate"]

    contact = services.resolve_visitor(widget=widget)
    inbound = services.send_visitor_message(contact=contact, body="hello", client_msg_id="s-1")
    assert not _states(tenant)["bot"]  # a visitor message alone is not the bot
    _post_bot_reply(tenant.pk, inbound.message.pk)
    assert _states(tenant)["bot"]
    assert onboarding.onboarding_done(tenant=tenant)


@pytest.mark.django_db
def test_a_teammate_counts_once_a_second_member_joins(team_a):
    user, tenant = tenant_services.sign_up(email="solo@start.example", password="long-enough-9", business_name="Solo")
    owner = Membership.objects.for_tenant(tenant).get(user=user)
    invitation, token = tenant_services.create_invitation(actor=owner, role="agent")
    tenant_services.revoke_invitation(actor=owner, invitation_id=invitation.pk)
    assert not _states(tenant)["teammate"]  # a revoked invitation is not pending
    _inv, token = tenant_services.create_invitation(actor=owner, role="agent")
    tenant_services.accept_invitation(token=token, user=team_a.agent.user)
    assert Membership.objects.for_tenant(tenant).count() == 2
    assert _states(tenant)["teammate"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_first_hello_from_an_allowed_origin_marks_the_widget_installed(team_a, no_bot):
    info = await database_sync_to_async(make_widget)(team_a, ORIGIN)
    refused = WebsocketCommunicator(application, f"/ws/widget/{info.widget.public_key}/", headers=[(b"origin", b"https://evil.example")])
    connected, _code = await refused.connect()
    assert not connected  # a foreign origin never gets to say hello
    comm = WebsocketCommunicator(application, f"/ws/widget/{info.widget.public_key}/", headers=[(b"origin", ORIGIN.encode())])
    assert (await comm.connect())[0]
    assert (await database_sync_to_async(Widget.objects.for_tenant(team_a.tenant).get)(pk=info.widget.pk)).first_connected_at is None
    await comm.send_json_to({"type": "hello"})
    assert (await comm.receive_json_from(timeout=5))["type"] == "ready"
    await comm.disconnect()
    first = (await database_sync_to_async(Widget.objects.for_tenant(team_a.tenant).get)(pk=info.widget.pk)).first_connected_at
    assert first is not None
    # A later hello leaves the first-seen time alone.
    again = WebsocketCommunicator(application, f"/ws/widget/{info.widget.public_key}/", headers=[(b"origin", ORIGIN.encode())])
    assert (await again.connect())[0]
    await again.send_json_to({"type": "hello"})
    assert (await again.receive_json_from(timeout=5))["type"] == "ready"
    await again.disconnect()
    widget = await database_sync_to_async(Widget.objects.for_tenant(team_a.tenant).get)(pk=info.widget.pk)
    assert widget.first_connected_at == first


@pytest.mark.django_db
@pytest.mark.parametrize(("language", "title", "step"), [("en", "Get started", "Invite a teammate"), ("zh-hans", "开始使用", "邀请同事")])
def test_sign_up_lands_on_the_checklist_page_in_each_language(client, language, title, step):
    client.cookies["django_language"] = language
    response = client.post("/signup/", {"full_name": "Lin", "business_name": "Lin Tea", "email": "lin@tea.example", "password": "oolong-2026-leaves"})
    assert response.status_code == 302 and response["Location"] == "/t/lin-tea/start/"
    page = client.get("/t/lin-tea/start/").content.decode()
    assert title in page and step in page
    assert page.count('data-done="false"') == 4
    for link in ("/t/lin-tea/knowledge/", "/t/lin-tea/settings/", "/t/lin-tea/members/", "/t/lin-tea/inbox/"):
        assert f'href="{link}"' in page
