"""Attachments (issue 13 #2) over HTTP as the widget and the inbox send them: images and
PDFs are stored (row + file + thumbnail) and served only to the conversation's visitor and
the tenant's members, with a strict CSP and nosniff; oversize files, files whose bytes are
not what their name says, another visitor's token and another tenant's member are refused
and nothing is stored (no row, no file). Plumbing only: the bot is not called (`no_bot`)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from rest_framework.test import APIClient

from chat import services
from chat.models import Attachment, Message
from tests.chat.conftest import make_widget

pytestmark = pytest.mark.django_db(transaction=True)

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
HTML_AS_PNG = b"<!doctype html><script>alert(document.cookie)</script>"
EXE_AS_PNG = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 64
FAKE_PNG = b"\x89PNG\r\n\x1a\n" + b"not really an image" * 4


def png_bytes(size=(64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture(autouse=True)
def media(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def stored_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


@pytest.fixture
def visit(team_a, no_bot):
    w = make_widget(team_a, "https://a.example").widget
    contact = services.resolve_visitor(widget=w, name="Ann")
    posted = services.send_visitor_message(contact=contact, body="hello", client_msg_id="v-1")
    return w, contact, posted.conversation


def widget_post(client, widget, *, token, content, name, cmid="up-1", **extra):
    data = {"token": token, "client_msg_id": cmid, "file": SimpleUploadedFile(name, content)}
    return client.post(f"/widget/{widget.public_key}/attachments/", data=data, **extra)


def inbox_post(api, team, conv, *, content, name):
    url = f"/api/t/{team.tenant.slug}/conversations/{conv.pk}/attachments/"
    return api.post(url, {"file": SimpleUploadedFile(name, content)}, format="multipart")


def agent_api(member) -> APIClient:
    api = APIClient()
    api.force_login(member.user)
    return api


def assert_secure_headers(response, *, inline: bool):
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"].startswith("inline" if inline else "attachment")


def test_agent_sends_an_image_with_thumbnail(team_a, visit, media, client):
    _w, contact, conv = visit
    response = inbox_post(agent_api(team_a.agent), team_a, conv, content=png_bytes((800, 600)), name="shot.PNG")
    assert response.status_code == 201, response.content
    data = response.json()
    att = Attachment.objects.for_tenant(team_a.tenant).get(key=data["attachment"]["key"])
    assert (att.content_type, att.name, att.sender) == ("image/png", "shot.png", "agent")
    assert len(att.key) >= 40 and len(stored_files(media)) == 2
    msg = Message.objects.for_tenant(team_a.tenant).get(pk=data["message"]["id"])
    assert msg.body.startswith(f"[attachment:{att.key}]") and msg.conversation_id == conv.pk

    client.force_login(team_a.admin.user)  # any member of the tenant
    got = client.get(data["attachment"]["url"])
    assert got.status_code == 200 and got["Content-Type"] == "image/png"
    assert_secure_headers(got, inline=True)
    thumb = client.get(data["attachment"]["thumbnail_url"])
    assert thumb.status_code == 200 and thumb["Content-Type"] == "image/jpeg"
    assert max(Image.open(io.BytesIO(b"".join(thumb.streaming_content))).size) <= 320

    client.logout()  # the conversation's visitor, by token
    token = services.make_visitor_token(contact=contact)
    assert client.get(f"{data['attachment']['url']}?token={token}").status_code == 200


def test_visitor_sends_a_pdf_served_as_download(team_a, visit, media, client, no_bot):
    widget, contact, conv = visit
    token = services.make_visitor_token(contact=contact)
    response = widget_post(client, widget, token=token, content=PDF, name="invoice.pdf",
                           HTTP_ORIGIN="https://a.example")
    assert response.status_code == 201, response.content
    assert response["Access-Control-Allow-Origin"] == "https://a.example"
    data = response.json()
    assert data["message"]["conversation_id"] == conv.pk and data["attachment"]["thumbnail_url"] == ""
    assert data["message"]["id"] not in {mid for _t, mid in no_bot}  # a file is not a question for the bot
    got = client.get(data["attachment"]["url"])  # the URL carries the visitor's token
    assert got.status_code == 200 and got["Content-Type"] == "application/pdf"
    assert_secure_headers(got, inline=False)
    assert b"".join(got.streaming_content) == PDF
    # A resend (same client_msg_id) answers the first upload and stores nothing more.
    again = widget_post(client, widget, token=token, content=PDF, name="invoice.pdf")
    assert again.status_code == 200 and again.json()["attachment"]["key"] == data["attachment"]["key"]
    assert Attachment.objects.for_tenant(team_a.tenant).count() == 1 and len(stored_files(media)) == 1


def assert_nothing_stored(team, media):
    assert Attachment.objects.for_tenant(team.tenant).count() == 0
    assert not Message.objects.for_tenant(team.tenant).filter(body__startswith="[attachment:").exists()
    assert stored_files(media) == []


def test_oversize_is_refused_and_nothing_stored(team_a, visit, media, client, settings):
    settings.KEFU_ATTACHMENT_MAX_BYTES = 1000
    widget, contact, conv = visit
    token = services.make_visitor_token(contact=contact)
    big = png_bytes((400, 400)) + b"\x00" * 2000
    assert widget_post(client, widget, token=token, content=big, name="big.png").status_code == 400
    assert inbox_post(agent_api(team_a.agent), team_a, conv, content=big, name="big.png").status_code == 400
    huge = b"%PDF-" + b"\x00" * 200_000  # refused from Content-Length, before it is read
    response = widget_post(client, widget, token=token, content=huge, name="huge.pdf")
    assert response.status_code == 400 and response.json()["error"]["code"] == "too_long"
    assert_nothing_stored(team_a, media)


@pytest.mark.parametrize("content", [HTML_AS_PNG, EXE_AS_PNG, FAKE_PNG], ids=["html", "exe", "png-header-garbage"])
def test_disguised_type_is_refused_and_nothing_stored(team_a, visit, media, client, content):
    widget, contact, conv = visit
    token = services.make_visitor_token(contact=contact)
    response = widget_post(client, widget, token=token, content=content, name="cat.png")
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid"
    assert inbox_post(agent_api(team_a.agent), team_a, conv, content=content, name="cat.png").status_code == 400
    assert_nothing_stored(team_a, media)


def test_another_visitors_token_gets_nothing(team_a, visit, media, client):
    widget, contact, conv = visit
    other = services.resolve_visitor(widget=widget, name="Bob")
    uploaded = widget_post(client, widget, token=services.make_visitor_token(contact=contact), content=PDF, name="a.pdf")
    url = uploaded.json()["attachment"]["url"].split("?")[0]
    assert client.get(f"{url}?token={services.make_visitor_token(contact=other)}").status_code == 404
    assert client.get(f"{url}?token=forged").status_code == 404
    assert client.get(url).status_code == 404  # no token, no session
    before = stored_files(media)
    forged = widget_post(client, widget, token="forged", content=PDF, name="b.pdf", cmid="up-2")
    assert forged.status_code == 403 and stored_files(media) == before
    refused = widget_post(client, widget, token="", content=PDF, name="b.pdf", cmid="up-3",
                          HTTP_ORIGIN="https://evil.example")
    assert refused.status_code == 403 and stored_files(media) == before


def test_another_tenants_member_gets_nothing(team_a, team_b, visit, media, client):
    _w, _contact, conv = visit
    sent = inbox_post(agent_api(team_a.agent), team_a, conv, content=png_bytes(), name="a.png").json()
    client.force_login(team_b.owner.user)
    assert client.get(sent["attachment"]["url"]).status_code == 404
    assert client.get(sent["attachment"]["thumbnail_url"]).status_code == 404
    before = stored_files(media)
    refused = inbox_post(agent_api(team_b.owner), team_a, conv, content=png_bytes(), name="b.png")
    assert refused.status_code in (403, 404)
    refused = inbox_post(agent_api(team_b.owner), team_b, conv, content=png_bytes(), name="b.png")
    assert refused.status_code == 404
    assert stored_files(media) == before and Attachment.objects.for_tenant(team_b.tenant).count() == 0


def test_forgetting_a_visitor_deletes_attachment_rows_and_files(team_a, visit, media, client):
    widget, contact, conv = visit
    widget_post(client, widget, token=services.make_visitor_token(contact=contact), content=png_bytes(), name="me.png")
    assert len(stored_files(media)) == 2
    services.forget_contact(actor=team_a.owner, contact_id=contact.pk)
    assert_nothing_stored(team_a, media)


def test_retention_purge_deletes_old_attachments(team_a, visit, media, client):
    from datetime import timedelta

    from django.utils import timezone

    widget, contact, _conv = visit
    widget_post(client, widget, token=services.make_visitor_token(contact=contact), content=PDF, name="old.pdf")
    services.purge_tenant_data(tenant_id=team_a.tenant.pk, before=timezone.now() + timedelta(seconds=1))
    assert_nothing_stored(team_a, media)
