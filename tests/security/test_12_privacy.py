"""Issue 9, item 12: retention per tenant, visitor data export and deletion.

Before the fix there was no retention setting, no export and no deletion:
`ml.forget_conversations` was never called and `Contact.deleted_at` never set. Real
PostgreSQL; chat's services and ml's learning tables (no fakes)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from chat import services as chat
from chat.models import Contact, Conversation, Message, ReportingEvent
from ml.models import (
    AnalyzedMessage,
    Feedback,
    KnowledgeArticle,
    RetrievalPair,
    SuggestedArticle,
    TrainingExample,
    UnansweredQuestion,
)
from tenants import services as tenant_services
from tenants.errors import ServiceError
from tests.chat.conftest import _chat_settings, make_widget, no_bot  # noqa: F401 - fixtures (in-memory layer)

pytestmark = pytest.mark.django_db
LEARNING = (AnalyzedMessage, Feedback, TrainingExample, UnansweredQuestion, SuggestedArticle, RetrievalPair)


def _visitor(team, name: str, words: str, widget=None):
    widget = widget or tenant_services.create_widget(actor=team.owner, name=f"w-{name}", allowed_origins="https://x.example")[0]
    contact = chat.resolve_visitor(widget=widget, name=name)
    chat.set_contact_email(contact=contact, email=f"{name.lower()}@mail.example")
    posted = chat.send_visitor_message(contact=contact, body=words, client_msg_id=f"{name}-1")
    conv = posted.conversation
    chat.agent_send(actor=team.agent, conversation_id=conv.pk, body=f"agent answer for {name}")
    chat.agent_send(actor=team.agent, conversation_id=conv.pk, body=f"internal note on {name}", note=True)
    _learning_rows(team.tenant.pk, conv.pk, posted.message.pk, words)
    ReportingEvent.objects.create(tenant=team.tenant, conversation=conv, kind="conversation_created", at=timezone.now(),
                                  widget_id=widget.pk, data={"contact_id": contact.pk})
    return contact, conv, widget


def _learning_rows(tenant_id: int, conversation_id: int, message_id: int, text: str) -> None:
    common = {"tenant_id": tenant_id, "conversation_id": conversation_id}
    AnalyzedMessage.objects.create(**common, message_id=message_id, text=text, intent="order_status")
    Feedback.objects.create(**common, kind="thumbs_down", message_id=message_id, text=text, value=-1)
    TrainingExample.objects.create(**common, text=text, label="order_status", source="relabel", message_id=message_id)
    UnansweredQuestion.objects.create(**common, message_id=message_id, text=text, embedding=b"\x00" * 1536)
    SuggestedArticle.objects.create(**common, question=text, answer="an answer", message_id=message_id + 10**6)
    article = KnowledgeArticle.objects.create(tenant_id=tenant_id, title="Parcels", body="Parcels take 2 days.")
    RetrievalPair.objects.create(**common, question=text, article=article, source="thumbs_up", message_id=message_id)


def _learning_count(tenant_id: int, conversation_ids: list[int]) -> int:
    return sum(m.objects.for_tenant(tenant_id).filter(conversation_id__in=conversation_ids).count() for m in LEARNING)


def _api(user=None, raw_key: str | None = None) -> APIClient:
    client = APIClient()
    if raw_key:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    else:
        client.force_authenticate(user)
    return client


def test_12_export_holds_that_visitors_conversations_only(client, team_a, team_b):
    alice, conv_a, widget = _visitor(team_a, "Alice", "where is my parcel 7781")
    _bob, _conv_b, _w = _visitor(team_a, "Bob", "bob's private question", widget=widget)
    _visitor(team_b, "Carol", "carol in another tenant")
    response = _api(team_a.admin.user).get(f"/api/t/alpha/contacts/{alice.pk}/export/")
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    data = response.json()
    assert data["contact"]["email"] == "alice@mail.example"
    assert [c["id"] for c in data["conversations"]] == [conv_a.pk]
    bodies = [m["body"] for c in data["conversations"] for m in c["messages"]]
    assert bodies == ["where is my parcel 7781", "agent answer for Alice"]  # no private note
    text = response.content.decode()
    assert "bob" not in text.lower() and "carol" not in text.lower()
    # Agents may not export; an API key may; the portal offers the same JSON.
    assert _api(team_a.agent.user).get(f"/api/t/alpha/contacts/{alice.pk}/export/").status_code == 403
    _key, raw = tenant_services.create_api_key(actor=team_a.owner, name="dpo")
    assert _api(raw_key=raw).get(f"/api/t/alpha/contacts/{alice.pk}/export/").json() == data
    client.force_login(team_a.admin.user)
    page = client.get(f"/t/alpha/contacts/{alice.pk}/export.json")
    assert page.status_code == 200 and page.json()["conversations"][0]["id"] == conv_a.pk


def test_12_delete_forgets_messages_and_learning_rows_keeps_pseudonymous_reporting(team_a, team_b):
    alice, conv_a, widget = _visitor(team_a, "Alice", "my card is 4111 and I live at 5 Elm St")
    bob, conv_b, _w = _visitor(team_a, "Bob", "bob stays", widget=widget)
    carol, conv_c, _w = _visitor(team_b, "Carol", "carol stays too")
    token = chat.make_visitor_token(contact=alice)
    assert _learning_count(team_a.tenant.pk, [conv_a.pk]) == 6
    n_messages = Message.objects.for_tenant(team_a.tenant).filter(conversation_id=conv_a.pk).count()
    assert n_messages == 4  # visitor, agent-joined event, agent reply, note: all of it goes

    response = _api(team_a.owner.user).delete(f"/api/t/alpha/contacts/{alice.pk}/")
    assert response.status_code == 200
    assert response.json() == {"conversations": 1, "messages": n_messages, "learning_rows": 6}

    assert not Message.objects.for_tenant(team_a.tenant).filter(conversation_id=conv_a.pk).exists()
    assert _learning_count(team_a.tenant.pk, [conv_a.pk]) == 0
    gone = Contact.objects.for_tenant(team_a.tenant).get(pk=alice.pk)
    assert gone.deleted_at is not None and (gone.name, gone.email, gone.attributes) == ("", "", {})
    assert Conversation.objects.for_tenant(team_a.tenant).get(pk=conv_a.pk).last_message_preview == ""
    # Reporting keeps its rows, with ids only.
    assert ReportingEvent.objects.for_tenant(team_a.tenant).filter(conversation_id=conv_a.pk).count() == 1
    # The deleted visitor's token no longer opens a session.
    with pytest.raises(ServiceError) as exc:
        chat.resolve_visitor(widget=widget, token=token)
    assert exc.value.code == "bad_token"
    # Nobody else lost anything.
    assert Message.objects.for_tenant(team_a.tenant).filter(conversation_id=conv_b.pk).count() == n_messages
    assert _learning_count(team_a.tenant.pk, [conv_b.pk]) == 6
    assert _learning_count(team_b.tenant.pk, [conv_c.pk]) == 6
    assert Contact.objects.for_tenant(team_a.tenant).get(pk=bob.pk).email == "bob@mail.example"
    # Another tenant's member cannot delete (404, same as missing); agents cannot (403).
    assert _api(team_b.owner.user).delete(f"/api/t/alpha/contacts/{bob.pk}/").status_code == 404
    assert _api(team_a.owner.user).delete(f"/api/t/alpha/contacts/{carol.pk}/").status_code == 404
    assert _api(team_a.agent.user).delete(f"/api/t/alpha/contacts/{bob.pk}/").status_code == 403


def test_12_portal_visitor_page_deletes_for_admins_only(client, team_a):
    alice, conv, _w = _visitor(team_a, "Alice", "portal delete me")
    client.force_login(team_a.agent.user)
    assert client.post(f"/t/alpha/contacts/{alice.pk}/", {"op": "forget"}).status_code == 403
    client.force_login(team_a.admin.user)
    page = client.get(f"/t/alpha/contacts/{alice.pk}/")
    assert page.status_code == 200 and "alice@mail.example" in page.content.decode()
    response = client.post(f"/t/alpha/contacts/{alice.pk}/", {"op": "forget"}, follow=True)
    assert "Visitor data deleted: 4 messages in 1 conversations." in response.content.decode()
    assert Contact.objects.for_tenant(team_a.tenant).get(pk=alice.pk).deleted_at is not None
    assert not Message.objects.for_tenant(team_a.tenant).filter(conversation_id=conv.pk).exists()


def test_12_retention_purges_old_data_of_tenants_that_set_it(team_a, team_b):
    from chat.tasks import purge_expired_data
    from config.celery import app

    assert app.conf.beat_schedule["purge-expired-visitor-data"]["task"] == "chat.tasks.purge_expired_data"
    tenant_services.set_retention(actor=team_a.owner, days=30)
    old_a, conv_old_a, widget = _visitor(team_a, "Old", "an old question from spring")
    _new_a, conv_new_a, _w = _visitor(team_a, "New", "a fresh question", widget=widget)
    _old_b, conv_old_b, _w = _visitor(team_b, "Keep", "b keeps everything")
    long_ago = timezone.now() - timedelta(days=40)
    for team, conv in ((team_a, conv_old_a), (team_b, conv_old_b)):
        Message.objects.for_tenant(team.tenant).filter(conversation_id=conv.pk).update(created_at=long_ago)
        Conversation.objects.for_tenant(team.tenant).filter(pk=conv.pk).update(last_message_at=long_ago)
        for model in LEARNING:
            model.objects.for_tenant(team.tenant).filter(conversation_id=conv.pk).update(created_at=long_ago)

    faq_article = KnowledgeArticle.objects.create(tenant=team_a.tenant, title="FAQ", body="From the FAQ import.")
    faq_pair = RetrievalPair.objects.create(tenant=team_a.tenant, question="how long is delivery", article=faq_article,
                                            source="faq_import")
    RetrievalPair.objects.for_tenant(team_a.tenant).filter(pk=faq_pair.pk).update(created_at=long_ago)

    done = purge_expired_data()
    assert done == {str(team_a.tenant.pk): {"messages": 4, "learning_rows": 6}}

    assert not Message.objects.for_tenant(team_a.tenant).filter(conversation_id=conv_old_a.pk).exists()
    assert Conversation.objects.for_tenant(team_a.tenant).get(pk=conv_old_a.pk).last_message_preview == ""
    assert _learning_count(team_a.tenant.pk, [conv_old_a.pk]) == 0
    assert Message.objects.for_tenant(team_a.tenant).filter(conversation_id=conv_new_a.pk).count() == 4
    assert _learning_count(team_a.tenant.pk, [conv_new_a.pk]) == 6
    # Tenant B set no retention: its old data stays.
    assert Message.objects.for_tenant(team_b.tenant).filter(conversation_id=conv_old_b.pk).count() == 4
    assert _learning_count(team_b.tenant.pk, [conv_old_b.pk]) == 6
    assert Contact.objects.for_tenant(team_a.tenant).get(pk=old_a.pk).deleted_at is None
    # The tenant's own data (an FAQ import's retrieval pair, no conversation) is not visitor data.
    assert RetrievalPair.objects.for_tenant(team_a.tenant).filter(pk=faq_pair.pk).exists()


def test_12_retention_setting_over_api_and_portal(client, team_a):
    api = _api(team_a.owner.user)
    assert api.get("/api/t/alpha/privacy/").json() == {"retention_days": None}
    assert api.patch("/api/t/alpha/privacy/", {"retention_days": 0}, format="json").status_code == 400
    assert api.patch("/api/t/alpha/privacy/", {}, format="json").status_code == 400
    assert api.patch("/api/t/alpha/privacy/", {"retention_days": 90}, format="json").json() == {"retention_days": 90}
    assert _api(team_a.agent.user).get("/api/t/alpha/privacy/").status_code == 403
    client.force_login(team_a.admin.user)
    assert client.post("/t/alpha/settings/", {"op": "retention", "retention_days": "abc"}).status_code == 400
    client.post("/t/alpha/settings/", {"op": "retention", "retention_days": "14"})
    team_a.tenant.refresh_from_db()
    assert team_a.tenant.retention_days == 14
    client.post("/t/alpha/settings/", {"op": "retention", "retention_days": ""})
    team_a.tenant.refresh_from_db()
    assert team_a.tenant.retention_days is None


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
@pytest.mark.usefixtures("no_bot")
async def test_12_deleting_a_visitor_closes_their_open_socket(team_a):
    """The visitor's live widget socket is told and closed (4401); their token then opens
    nothing, so the widget starts afresh instead of writing into the deleted history."""
    from channels.db import database_sync_to_async
    from channels.testing.websocket import WebsocketCommunicator

    from config.asgi import application

    widget_a = await database_sync_to_async(make_widget)(team_a, "https://shop-a.example")
    async def open_socket() -> WebsocketCommunicator:
        comm = WebsocketCommunicator(application, f"/ws/widget/{widget_a.widget.public_key}/",
                                     headers=[(b"origin", widget_a.origin.encode())])
        assert (await comm.connect())[0]
        return comm

    comm = await open_socket()
    await comm.send_json_to({"type": "hello"})
    ready = await comm.receive_json_from(timeout=5)
    await comm.send_json_to({"type": "message", "body": "delete me later", "client_msg_id": "d-1"})
    ack = await comm.receive_json_from(timeout=5)
    contact_id = await database_sync_to_async(
        lambda: Conversation.objects.for_tenant(team_a.tenant).get(pk=ack["conversation"]["id"]).contact_id)()
    await database_sync_to_async(chat.forget_contact)(actor=team_a.owner, contact_id=contact_id)
    frame = await comm.receive_json_from(timeout=5)
    while frame["type"] != "session_ended":  # typing indicators etc. may come first
        frame = await comm.receive_json_from(timeout=5)
    assert frame == {"type": "session_ended", "reason": "deleted"}
    assert (await comm.receive_output(timeout=5)) == {"type": "websocket.close", "code": 4401}
    again = await open_socket()
    await again.send_json_to({"type": "hello", "token": ready["token"]})
    refused = await again.receive_json_from(timeout=5)
    assert refused["type"] == "error" and refused["code"] == "bad_token"
    await again.disconnect()
