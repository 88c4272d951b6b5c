from __future__ import annotations

import json

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from tenants.scoping import TenantOwnedModel


class Tenant(models.Model):
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=60, unique=True)
    timezone = models.CharField(max_length=64, default="UTC")
    # Visitor data (messages, attachments, learning rows and their vectors) older than this
    # many days is purged daily (chat.tasks.purge_expired_data); null keeps it.
    retention_days = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    ADMIN = "admin", _("Admin")
    AGENT = "agent", _("Agent")


# Which roles may do what; checked by the portal and API bases.
ADMIN_ROLES = frozenset({Role.OWNER, Role.ADMIN})


class Membership(TenantOwnedModel):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.AGENT)
    display_name = models.CharField(max_length=120, blank=True)
    # E-mail alerts on handoff and assignment (mail app); the language of the member's mail.
    email_alerts = models.BooleanField(default=True)
    language = models.CharField(max_length=10, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "user"], name="membership_unique_tenant_user")]

    @property
    def is_admin(self) -> bool:
        return self.role in ADMIN_ROLES

    @property
    def name(self) -> str:
        return self.display_name or self.user.get_full_name() or self.user.get_username()


class Invitation(TenantOwnedModel):
    # Only the SHA-256 of the token is stored: a leaked database does not leak invite links.
    token_hash = models.CharField(max_length=64, unique=True)
    email = models.EmailField(blank=True)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.AGENT)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["tenant", "created_at"])]


class Widget(TenantOwnedModel):
    name = models.CharField(max_length=120)
    # Public: goes into the embed snippet on the customer's site.
    public_key = models.CharField(max_length=40, unique=True)
    allowed_origins = models.JSONField(default=list, blank=True)
    # Secret for identity verification (HMAC-SHA256 of user_id). Shown once, never again.
    identity_secret = models.CharField(max_length=64)
    color = models.CharField(max_length=7, default="#2563eb")
    greeting = models.CharField(max_length=300, default="Hi! How can we help?")
    # "auto": the widget follows the page's lang / the visitor's browser; "en" or "zh-hans" pins it.
    locale = models.CharField(max_length=10, default="auto")
    # Business hours (tenants.business_hours): an empty schedule means always open.
    time_zone = models.CharField(max_length=64, default="UTC")
    business_hours = models.JSONField(default=dict, blank=True)
    holidays = models.JSONField(default=list, blank=True)
    away_message = models.CharField(max_length=500, blank=True, default="")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # First hello from an allowed origin: the onboarding checklist's "widget installed".
    first_connected_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(color__regex=r"^#[0-9a-fA-F]{6}$"), name="widget_color_hex"),
        ]
        indexes = [models.Index(fields=["tenant", "created_at"])]

    def __str__(self) -> str:
        return self.name

    @property
    def business_hours_json(self) -> str:
        """The weekly schedule as the settings page edits it."""
        return json.dumps(self.business_hours, ensure_ascii=False)


class ApiKey(TenantOwnedModel):
    name = models.CharField(max_length=120)
    # The first characters identify the key for look-up; only a SHA-256 of the whole is kept.
    prefix = models.CharField(max_length=12, unique=True)
    key_hash = models.CharField(max_length=64)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.ADMIN)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["tenant", "created_at"])]
