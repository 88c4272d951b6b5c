"""The widget side of issue 13: the transcript frame, and a site whose origin is refused
is told so (origin-check) and shown to the owner in the portal."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.testing.websocket import WebsocketCommunicator
from django.core.cache import cache

from config.asgi import application
from mail.models import MailKind, OutboundMail
from tests.chat.test_ws import hello, open_socket, send


@database_sync_to_async
def transcript_rows(tenant_id: int) -> list[tuple[str, str]]:
    return list(OutboundMail.objects.for_tenant(tenant_id).filter(kind=MailKind.TRANSCRIPT).values_list("recipient", "body"))


async def receive(comm) -> dict:
    """The next frame that is not a typing indicator (the bot's starts with the message)."""
    while True:
        frame = await comm.receive_json_from(timeout=5)
        if frame["type"] != "typing":
            return frame


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_transcript_frame_mails_the_conversation_once(widget_a, no_bot, settings):
    settings.KEFU_TASK_MODE = "inprocess"
    comm = await open_socket(widget_a)
    await hello(comm)
    ack = await send(comm, "Do you ship to Lyon?", "t-1")
    cid = ack["conversation"]["id"]
    await comm.send_json_to({"type": "transcript", "conversation_id": cid, "ref": "r1"})
    error = await receive(comm)
    assert error["type"] == "error" and error["code"] == "no_email"
    await comm.send_json_to({"type": "email", "email": "lyon@visitor.test"})
    assert (await receive(comm))["type"] == "email_saved"
    for _ in range(2):  # a double click: one mail
        await comm.send_json_to({"type": "transcript", "conversation_id": cid})
        sent = await receive(comm)
        assert sent == {"type": "transcript_sent", "conversation_id": cid, "email": "lyon@visitor.test", "ref": None}
    rows = await transcript_rows(widget_a.widget.tenant_id)
    assert len(rows) == 1 and rows[0][0] == "lyon@visitor.test" and "Do you ship to Lyon?" in rows[0][1]
    await comm.send_json_to({"type": "transcript", "conversation_id": cid + 1000})  # not theirs
    assert (await receive(comm))["code"] == "not_found"
    await comm.disconnect()


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_refused_origin_is_noted_for_the_portal(widget_a, settings):
    cache.clear()
    comm = WebsocketCommunicator(
        application, f"/ws/widget/{widget_a.widget.public_key}/", headers=[(b"origin", b"https://not-listed.example")]
    )
    assert await comm.connect() == (False, 4403)
    from tenants.origins import last_refused_origins

    noted = await database_sync_to_async(last_refused_origins)(widgets=[widget_a.widget])
    assert noted[widget_a.widget.pk]["origin"] == "https://not-listed.example"


def test_origin_check_answers_for_the_callers_origin(client, widget_a, team_a, team_b, settings):
    cache.clear()
    url = f"/widget/{widget_a.widget.public_key}/origin-check/"
    ok = client.get(url, HTTP_ORIGIN=widget_a.origin)
    assert ok.status_code == 200 and ok.json() == {"allowed": True} and ok["Access-Control-Allow-Origin"] == "*"
    refused = client.get(url, HTTP_ORIGIN="https://elsewhere.example")
    assert refused.json() == {"allowed": False, "reason": "origin_not_allowed"}
    assert client.get("/widget/no-such-key/origin-check/").status_code == 404
    # The owner sees it on the widget settings page; another tenant's owner does not.
    client.force_login(team_a.owner.user)
    page = client.get(f"/t/{team_a.tenant.slug}/settings/").content.decode()
    assert "Last refused origin: https://elsewhere.example" in page
    client.force_login(team_b.owner.user)
    assert "elsewhere.example" not in client.get(f"/t/{team_b.tenant.slug}/settings/").content.decode()
