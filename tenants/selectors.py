"""Reads for tenants, members, widgets and API keys. Every function takes the tenant
explicitly; the few that look across tenants say why."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from tenants.models import ApiKey, Invitation, Membership, Tenant, Widget


def memberships_for_user(*, user: Any) -> QuerySet[Membership]:
    # Cross-tenant by design: the tenant switcher lists every tenant of this user.
    if not user.is_authenticated:
        return Membership.all_tenants.none()
    return Membership.all_tenants.filter(user=user).select_related("tenant").order_by("tenant__name")


def membership_for(*, user: Any, tenant_slug: str) -> Membership | None:
    """The user's membership in the tenant, or None (missing tenant and non-member look the same)."""
    if not user.is_authenticated:
        return None
    return Membership.all_tenants.filter(user=user, tenant__slug=tenant_slug).select_related("tenant", "user").first()


def member_access(membership: Membership) -> tuple[Any, ...]:
    """What a member's open socket holds on to: role, password hash, account active."""
    return (membership.role, membership.user.password, membership.user.is_active)


def current_member_access(*, membership_id: int) -> tuple[Any, ...] | None:
    """member_access re-read from the database (None once the membership is gone)."""
    # Cross-tenant by id: the caller is that membership's own socket.
    row = (
        Membership.all_tenants.filter(pk=membership_id)
        .values_list("role", "user__password", "user__is_active")
        .first()
    )
    return tuple(row) if row is not None else None


def member_list(*, tenant: Tenant) -> QuerySet[Membership]:
    return Membership.objects.for_tenant(tenant).select_related("user").order_by("created_at")


def pending_invitations(*, tenant: Tenant) -> QuerySet[Invitation]:
    return Invitation.objects.for_tenant(tenant).filter(accepted_at__isnull=True, revoked_at__isnull=True)


def widget_list(*, tenant: Tenant) -> QuerySet[Widget]:
    return Widget.objects.for_tenant(tenant).order_by("created_at")


def widget_by_public_key(*, public_key: str) -> Widget | None:
    # Cross-tenant by design: the public key is how a visitor's browser names its tenant.
    return Widget.all_tenants.select_related("tenant").filter(public_key=public_key, is_active=True).first()


def api_key_list(*, tenant: Tenant) -> QuerySet[ApiKey]:
    return ApiKey.objects.for_tenant(tenant).filter(revoked_at__isnull=True).order_by("created_at")


DEMO_TENANT_SLUG = "demo-shop"


def demo_widget() -> Widget | None:
    # Cross-tenant by design: the public demo page names the seeded demo tenant.
    return Widget.all_tenants.filter(tenant__slug=DEMO_TENANT_SLUG, is_active=True).order_by("created_at").first()
