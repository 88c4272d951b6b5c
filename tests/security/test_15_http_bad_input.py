"""Issue 9, item 15 (HTTP part): bad input gets a clear 4xx, never a 500.

Before the fix each of these answered 500 (red-team run): API-key callers creating
knowledge imports / invitations / API keys ("Membership has no user"), OPTIONS on
ai-policy, POST invitations {} (KeyError 'role'), limit=99999999999999999999 and
limit=-1, dates 0001-01-01 and 9999-12-31, portal settings posts with a missing or
non-numeric widget_id, a binary file uploaded as .md. Real PostgreSQL, no mocks.
"""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from chat.models import Contact, Conversation, Message
from tenants import services

pytestmark = pytest.mark.django_db


@pytest.fixture
def key_client(team_a) -> APIClient:
    _key, raw = services.create_api_key(actor=team_a.owner, name="server")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.fixture
def owner_client(team_a) -> APIClient:
    client = APIClient()
    client.force_authenticate(team_a.owner.user)
    return client


@pytest.fixture
def conversation(team_a) -> Conversation:
    widget, _secret = services.create_widget(actor=team_a.owner, name="Shop", allowed_origins="https://shop.example")
    contact = Contact.objects.create(tenant=team_a.tenant, widget=widget)
    conv = Conversation.objects.create(tenant=team_a.tenant, widget=widget, contact=contact, last_seq=1)
    Message.objects.create(tenant=team_a.tenant, conversation=conv, seq=1, sender="visitor", body="hello")
    return conv


def _assert_clear_4xx(response, *, expected: int = 400) -> None:
    assert response.status_code == expected, (response.status_code, response.content[:300])


def test_15_http_api_key_caller_creates_knowledge_import(key_client):
    """Before: 500 'Membership has no user' (created_by=actor.user for an API key)."""
    upload = SimpleUploadedFile("faq.md", b"# Shipping\n\nWe ship in 2 days.", content_type="text/markdown")
    response = key_client.post("/api/t/alpha/knowledge-imports/", {"kind": "files", "file": upload}, format="multipart")
    assert response.status_code == 201, response.content[:300]


def test_15_http_api_key_caller_creates_invitation(key_client):
    """Before: 500 'Membership has no user' (invited_by=actor.user for an API key)."""
    response = key_client.post("/api/t/alpha/invitations/", {"role": "agent", "email": "new@alpha.example.com"}, format="json")
    assert response.status_code == 201, response.content[:300]
    assert "/invite/" in response.json()["invite_url"]


def test_15_http_api_key_caller_cannot_mint_api_keys(key_client):
    """Before: 500 'Membership has no user'. Now a clear 403: a key cannot mint keys
    (a leaked key must not outlive its revocation through keys it created)."""
    response = key_client.post("/api/t/alpha/api-keys/", {"name": "second"}, format="json")
    _assert_clear_4xx(response, expected=403)
    assert "API key" in response.json()["detail"]


def test_15_http_options_on_ai_policy(owner_client):
    """Before: 500 on OPTIONS /ai-policy/."""
    response = owner_client.options("/api/t/alpha/ai-policy/")
    assert response.status_code == 200, response.content[:300]


def test_15_http_invitation_without_role(owner_client):
    """Before: 500 KeyError 'role' on POST invitations {}."""
    response = owner_client.post("/api/t/alpha/invitations/", {}, format="json")
    _assert_clear_4xx(response)
    assert "role" in response.json()


@pytest.mark.parametrize("limit", ["99999999999999999999", "-1", "abc"])
@pytest.mark.parametrize("path", ["/api/t/alpha/labels/", "/api/t/alpha/conversations/", "/api/t/alpha/members/"])
def test_15_http_bad_limit_on_lists(owner_client, path, limit):
    """Before: limit=99999999999999999999 -> 500 (bigint out of range in SQL)."""
    _assert_clear_4xx(owner_client.get(path, {"limit": limit}))


@pytest.mark.parametrize("offset", ["99999999999999999999", "-1"])
def test_15_http_bad_offset_on_lists(owner_client, offset):
    _assert_clear_4xx(owner_client.get("/api/t/alpha/labels/", {"offset": offset}))


@pytest.mark.parametrize("limit", ["99999999999999999999", "-1", "0"])
def test_15_http_bad_limit_on_messages(owner_client, conversation, limit):
    """Before: limit=-1 -> 500 (negative slice), limit=99999999999999999999 -> 500."""
    _assert_clear_4xx(owner_client.get(f"/api/t/alpha/conversations/{conversation.pk}/messages/", {"limit": limit}))


def test_15_http_good_limit_still_works(owner_client, conversation):
    response = owner_client.get(f"/api/t/alpha/conversations/{conversation.pk}/messages/", {"limit": 1})
    assert response.status_code == 200 and len(response.json()) == 1
    assert owner_client.get("/api/t/alpha/labels/", {"limit": 5, "offset": 0}).status_code == 200


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
@pytest.mark.parametrize("param", ["from", "to", "period"])
@pytest.mark.parametrize("path", ["/api/t/alpha/reporting/dashboard/", "/api/t/alpha/reporting/conversations/"])
def test_15_http_extreme_dates(owner_client, path, param, day):
    """Before: 500 (OverflowError computing the range from year 1 or 9999)."""
    response = owner_client.get(path, {param: day, "metric": "conversations"})
    assert response.status_code in (200, 400), (response.status_code, response.content[:300])
    if param != "period":
        _assert_clear_4xx(response)


@pytest.mark.parametrize("until", ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"])
def test_15_http_extreme_snooze_dates(owner_client, conversation, until):
    """Year 1 is in the past (400); year 9999 is a valid 'snooze for good' (200)."""
    response = owner_client.post(f"/api/t/alpha/conversations/{conversation.pk}/snooze/", {"until": until}, format="json")
    assert response.status_code == (400 if until.startswith("0001") else 200), response.content[:300]


@pytest.mark.parametrize("op", ["update_widget", "rotate_secret", "revoke_api_key"])
@pytest.mark.parametrize("value", [None, "abc", "99999999999999999999"])
def test_15_http_portal_settings_bad_ids(client, team_a, op, value):
    """Before: 500 (KeyError / ValueError on int(post['widget_id']))."""
    client.force_login(team_a.owner.user)
    data = {"op": op, "name": "x"}
    if value is not None:
        data["widget_id" if op != "revoke_api_key" else "api_key_id"] = value
    response = client.post("/t/alpha/settings/", data)
    _assert_clear_4xx(response)


@pytest.mark.parametrize("op", ["role", "remove", "revoke"])
def test_15_http_portal_members_bad_ids(client, team_a, op):
    client.force_login(team_a.owner.user)
    response = client.post("/t/alpha/members/", {"op": op, "membership_id": "x", "invitation_id": "", "role": "agent"})
    _assert_clear_4xx(response)


def test_15_http_binary_uploaded_as_markdown(owner_client):
    """Before: 500 (NUL bytes reached PostgreSQL)."""
    blob = bytes(range(256)) * 64
    upload = SimpleUploadedFile("notes.md", blob, content_type="text/markdown")
    response = owner_client.post("/api/t/alpha/knowledge-imports/", {"kind": "files", "file": upload}, format="multipart")
    _assert_clear_4xx(response)
    assert "notes.md" in response.json()["detail"]


def test_15_http_options_on_every_api_route(owner_client, team_a):
    """OPTIONS (DRF's metadata runs get_object() for PUT) on every tenant API route: never
    a 500 (before: ai-policy answered 500)."""
    from django.urls import NoReverseMatch, reverse

    from tests.isolation.test_isolation import tenant_routes

    tried = 0
    for name in tenant_routes():
        for kwargs in ({}, {"pk": 999999}):
            try:
                url = reverse(name, kwargs={"tenant_slug": team_a.tenant.slug, **kwargs})
            except NoReverseMatch:
                continue
            if not url.startswith("/api/"):
                continue
            response = owner_client.options(url)
            assert response.status_code < 500, (url, response.status_code)
            tried += 1
    assert tried >= 30


@pytest.mark.parametrize("query", ["from=0001-01-01", "to=9999-12-31", "days=99999999999999999999", "widget=99999999999999999999",
                                   "offset=-5&metric=conversations", "period=0001-01-01&metric=conversations"])
@pytest.mark.parametrize("path", ["/t/alpha/dashboards/", "/t/alpha/dashboards/conversations/", "/t/alpha/dashboards/export.csv"])
def test_15_http_portal_dashboards_extreme_filters(client, team_a, path, query):
    """The dashboard pages share the API's filter parsing: out-of-range days and ids fall
    back to the defaults there (a page, not a 500)."""
    client.force_login(team_a.owner.user)
    response = client.get(f"{path}?{query}")
    assert response.status_code == 200, (path, query, response.status_code)
