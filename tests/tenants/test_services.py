import pytest
from django.contrib.auth import get_user_model

from tenants import selectors, services
from tenants.crypto import hmac_sha256_hex
from tenants.errors import ServiceError
from tenants.models import Membership, Role, Widget

pytestmark = pytest.mark.django_db


def test_sign_up_creates_tenant_and_owner():
    user, tenant = services.sign_up(email=" Ann@Shop.example ", password="long-enough-9", business_name="Ann's Shop")
    assert user.email == "ann@shop.example"
    assert tenant.slug == "anns-shop"
    assert Membership.objects.for_tenant(tenant).get(user=user).role == Role.OWNER


@pytest.mark.parametrize(
    ("email", "password", "business", "code"),
    [("not-an-email", "long-enough-9", "Shop", "email"), ("a@b.example", "short", "Shop", "password"), ("a@b.example", "long-enough-9", " ", "invalid")],
)
def test_sign_up_rejects_bad_input_and_stores_nothing(email, password, business, code):
    with pytest.raises(ServiceError) as exc:
        services.sign_up(email=email, password=password, business_name=business)
    assert exc.value.code == code
    assert get_user_model().objects.count() == 0


def test_duplicate_email_is_refused(team_a):
    with pytest.raises(ServiceError) as exc:
        services.sign_up(email=team_a.owner.user.email, password="long-enough-9", business_name="Again")
    assert exc.value.code == "email_taken"


def test_invitation_flow_and_switching_between_tenants(team_a, team_b):
    invitation, token = services.create_invitation(actor=team_b.admin, role=Role.AGENT)
    membership = services.accept_invitation(token=token, user=team_a.agent.user)
    assert membership.tenant == team_b.tenant and membership.role == Role.AGENT
    slugs = [m.tenant.slug for m in selectors.memberships_for_user(user=team_a.agent.user)]
    assert slugs == ["alpha", "bravo"]
    with pytest.raises(ServiceError):  # single use
        services.accept_invitation(token=token, user=team_a.admin.user)
    assert invitation.token_hash != token  # only the hash is stored


def test_agents_cannot_invite_and_admins_cannot_make_owners(team_a):
    with pytest.raises(ServiceError) as exc:
        services.create_invitation(actor=team_a.agent, role=Role.AGENT)
    assert exc.value.code == "forbidden"
    with pytest.raises(ServiceError):
        services.change_role(actor=team_a.admin, membership_id=team_a.agent.pk, role=Role.OWNER)
    assert services.change_role(actor=team_a.admin, membership_id=team_a.agent.pk, role=Role.ADMIN).role == Role.ADMIN


def test_last_owner_cannot_leave_or_be_demoted(team_a):
    with pytest.raises(ServiceError) as exc:
        services.change_role(actor=team_a.owner, membership_id=team_a.owner.pk, role=Role.AGENT)
    assert exc.value.code == "last_owner"
    with pytest.raises(ServiceError):
        services.remove_member(actor=team_a.owner, membership_id=team_a.owner.pk)
    services.remove_member(actor=team_a.owner, membership_id=team_a.agent.pk)
    assert Membership.objects.for_tenant(team_a.tenant).count() == 2


def test_role_change_on_another_tenants_member_is_not_found(team_a, team_b):
    with pytest.raises(ServiceError) as exc:
        services.change_role(actor=team_a.owner, membership_id=team_b.agent.pk, role=Role.ADMIN)
    assert exc.value.code == "not_found"


def test_widget_secret_rotation_and_origins(team_a):
    widget, secret = services.create_widget(
        actor=team_a.admin, name="Site", allowed_origins="https://Shop.example.com/, http://localhost:8001"
    )
    assert widget.allowed_origins == ["https://shop.example.com", "http://localhost:8001"]
    new_secret = services.rotate_widget_secret(actor=team_a.admin, widget_id=widget.pk)
    assert new_secret != secret
    widget.refresh_from_db()
    assert hmac_sha256_hex(widget.identity_secret, "user-1") == hmac_sha256_hex(new_secret, "user-1")
    with pytest.raises(ServiceError):
        services.create_widget(actor=team_a.admin, name="Bad", allowed_origins="javascript:alert(1)")
    with pytest.raises(ServiceError):
        services.create_widget(actor=team_a.agent, name="Nope", allowed_origins="")
    assert Widget.objects.for_tenant(team_a.tenant).count() == 1


def test_api_key_is_hashed_and_revocable(team_a):
    key, raw = services.create_api_key(actor=team_a.owner, name="CRM")
    assert raw not in key.key_hash and services.authenticate_api_key(raw=raw) == key
    assert services.authenticate_api_key(raw=raw[:-1] + ("x" if raw[-1] != "x" else "y")) is None
    services.revoke_api_key(actor=team_a.owner, api_key_id=key.pk)
    assert services.authenticate_api_key(raw=raw) is None
