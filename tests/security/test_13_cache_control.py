"""Issue 9, item 13: `Cache-Control: private, no-store` on every authenticated and
secret-bearing response; the public widget script and static files keep caching.

Before the fix none of these responses carried a Cache-Control header (a shared proxy or
the browser's disk cache could keep a rotated identity secret or a new API key)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tenants import services

pytestmark = pytest.mark.django_db

NO_STORE = "private, no-store"


@pytest.fixture
def owner_api(team_a) -> APIClient:
    client = APIClient()
    client.force_login(team_a.owner.user)
    return client


@pytest.mark.parametrize(
    "path",
    ["/t/alpha/settings/", "/t/alpha/members/", "/t/alpha/dashboards/", "/t/alpha/dashboards/export.csv",
     "/api/t/alpha/members/", "/api/t/alpha/widgets/", "/api/t/alpha/reporting/dashboard/"],
)
def test_13_authenticated_pages_api_and_csv_are_not_stored(client, team_a, path):
    client.force_login(team_a.owner.user)
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    assert response["Cache-Control"] == NO_STORE


def test_13_secret_bearing_api_responses_are_not_stored(owner_api):
    widget = owner_api.post("/api/t/alpha/widgets/", {"name": "Shop"}, format="json")
    assert widget.status_code == 201 and widget["Cache-Control"] == NO_STORE
    rotated = owner_api.post(f"/api/t/alpha/widgets/{widget.json()['id']}/rotate-secret/")
    assert rotated.status_code == 200 and rotated.json()["identity_secret"]
    assert rotated["Cache-Control"] == NO_STORE
    key = owner_api.post("/api/t/alpha/api-keys/", {"name": "server"}, format="json")
    assert key.status_code == 201 and key.json()["key"] and key["Cache-Control"] == NO_STORE
    invite = owner_api.post("/api/t/alpha/invitations/", {"role": "agent", "email": "x@alpha.example.com"}, format="json")
    assert invite.status_code == 201 and invite["Cache-Control"] == NO_STORE


def test_13_api_key_callers_and_portal_secret_pages_are_not_stored(client, team_a):
    _key, raw = services.create_api_key(actor=team_a.owner, name="server")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    response = api.get("/api/t/alpha/widgets/")
    assert response.status_code == 200 and response["Cache-Control"] == NO_STORE
    client.force_login(team_a.owner.user)
    response = client.post("/t/alpha/settings/", {"op": "create_api_key", "name": "portal key"}, follow=True)
    assert "API key (shown once)" in response.content.decode()
    assert response["Cache-Control"] == NO_STORE


def test_13_login_and_invitation_pages_are_not_stored(client, team_a):
    """Anonymous, but they carry a CSRF token / an invitation token."""
    _invitation, token = services.create_invitation(actor=team_a.owner, role="agent", email="z@alpha.example.com")
    for path in ("/login/", f"/invite/{token}/"):
        response = client.get(path)
        assert response.status_code == 200 and response["Cache-Control"] == NO_STORE, path


def test_13_public_widget_script_and_static_files_keep_caching(client, team_a):
    client.force_login(team_a.owner.user)  # even for a logged-in admin testing the widget
    script = client.get("/widget.js")
    assert script.status_code == 200 and script["Cache-Control"] == "public, max-age=300"
    static = client.get("/static/chat/widget.js")
    assert static.status_code == 200 and "no-store" not in static.get("Cache-Control", "")
