import pytest
from rest_framework.test import APIClient

from tenants import services

pytestmark = pytest.mark.django_db


def test_api_key_reaches_only_its_own_tenant(team_a, team_b):
    _key, raw = services.create_api_key(actor=team_a.owner, name="server")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get("/api/t/alpha/members/").status_code == 200
    assert client.get("/api/t/bravo/members/").status_code == 404
    client.credentials(HTTP_AUTHORIZATION="Bearer kefu_nothing_wrong")
    assert client.get("/api/t/alpha/members/").status_code == 401


def test_widget_api_shows_secret_only_at_creation(team_a):
    client = APIClient()
    client.force_authenticate(team_a.admin.user)
    created = client.post("/api/t/alpha/widgets/", {"name": "Shop", "allowed_origins": ["https://shop.example"]}, format="json")
    assert created.status_code == 201 and created.json()["identity_secret"]
    listed = client.get("/api/t/alpha/widgets/").json()
    assert "identity_secret" not in listed["results"][0]
    bad = client.post("/api/t/alpha/widgets/", {"name": "Bad", "color": "red"}, format="json")
    assert bad.status_code == 400 and "Colour" in bad.json()["detail"]


def test_agent_cannot_write_settings(team_a):
    client = APIClient()
    client.force_authenticate(team_a.agent.user)
    assert client.get("/api/t/alpha/members/").status_code == 200
    assert client.post("/api/t/alpha/widgets/", {"name": "x"}, format="json").status_code == 403


def test_openapi_schema_is_served(client):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    assert b"/api/t/{tenant_slug}/widgets/" in response.content


def test_sealed_bases_refuse_overrides():
    from tenants.api import TenantViewSet
    from tenants.portal import TenantPortalView

    with pytest.raises(TypeError):
        type("Leaky", (TenantViewSet,), {"get_queryset": lambda self: None})
    with pytest.raises(TypeError):
        type("LeakyPage", (TenantPortalView,), {"dispatch": lambda self, request: None})
