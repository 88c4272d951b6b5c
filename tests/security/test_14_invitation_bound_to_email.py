"""Issue 9, item 14: invitations are bound to their e-mail.

Before the fix another tenant's agent accepted an invitation addressed to someone else
(the service never compared the accepting account with the invitation's e-mail).
Real PostgreSQL; the portal page and the service are both exercised."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from tenants import services
from tenants.errors import ServiceError
from tenants.models import Membership

pytestmark = pytest.mark.django_db


def test_14_other_account_cannot_accept_an_addressed_invitation(team_a, team_b):
    _invitation, token = services.create_invitation(actor=team_a.owner, role="agent", email="Alice@Shop.example")
    with pytest.raises(ServiceError) as exc:
        services.accept_invitation(token=token, user=team_b.agent.user)
    assert exc.value.code == "wrong_email" and "alice@shop.example" in exc.value.message
    assert not Membership.objects.for_tenant(team_a.tenant).filter(user=team_b.agent.user).exists()
    # Still usable by its addressee, in any letter case.
    alice = get_user_model().objects.create_user(username="ALICE@shop.example", email="ALICE@shop.example", password="x-long-pass-9")
    assert services.accept_invitation(token=token, user=alice).tenant == team_a.tenant


def test_14_portal_refuses_a_logged_in_stranger_with_a_clear_message(client, team_a, team_b):
    _invitation, token = services.create_invitation(actor=team_a.owner, role="admin", email="bob@shop.example")
    client.force_login(team_b.agent.user)
    response = client.post(f"/invite/{token}/")
    assert response.status_code == 400
    assert "This invitation is for bob@shop.example" in response.content.decode()
    assert not Membership.objects.for_tenant(team_a.tenant).filter(user=team_b.agent.user).exists()


def test_14_portal_sign_up_with_another_address_creates_no_account(client, team_a):
    _invitation, token = services.create_invitation(actor=team_a.owner, role="agent", email="carol@shop.example")
    response = client.post(f"/invite/{token}/", {"email": "mallory@evil.example", "password": "long-enough-pass-9"})
    assert response.status_code == 400
    assert not get_user_model().objects.filter(username="mallory@evil.example").exists()
    response = client.post(f"/invite/{token}/", {"email": "Carol@Shop.example", "password": "long-enough-pass-9"})
    assert response.status_code == 302
    assert Membership.objects.for_tenant(team_a.tenant).filter(user__username="carol@shop.example").exists()


def test_14_open_invitation_without_email_still_works(team_a, team_b):
    """An invitation created with no e-mail is an open link (the members page says '(any e-mail)')."""
    _invitation, token = services.create_invitation(actor=team_a.owner, role="agent")
    assert services.accept_invitation(token=token, user=team_b.agent.user).tenant == team_a.tenant
