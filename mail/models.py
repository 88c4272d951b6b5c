"""E-mail in and out (issue 13 #1).

`OutboundMail` is the outbox: one row per (event kind, event key, recipient), written in
the transaction of the event, rendered in the recipient's language; the `default` queue
sends it (mail.tasks.send_mail) and records that it did, so a retried or redelivered task
never sends a second copy. `InboundMailbox` holds a tenant's inbound webhook secret (its
SHA-256 only).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from tenants.scoping import TenantOwnedModel


class MailKind(models.TextChoices):
    REPLY = "reply", _("Reply to an offline visitor")
    TRANSCRIPT = "transcript", _("Transcript")
    HANDOFF_ALERT = "handoff_alert", _("Handoff alert")
    ASSIGNED_ALERT = "assigned_alert", _("Assignment alert")
    INVITATION = "invitation", _("Invitation")
    VERIFY_EMAIL = "verify_email", _("E-mail verification")
    PASSWORD_RESET = "password_reset", _("Password reset")


# Their body holds a one-time link: blanked once sent (the outbox page shows no body).
SECRET_KINDS = frozenset({MailKind.INVITATION, MailKind.VERIFY_EMAIL, MailKind.PASSWORD_RESET})


class MailStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    SKIPPED = "skipped", _("Skipped")
    FAILED = "failed", _("Failed")


class OutboundMail(TenantOwnedModel):
    # Account mails (password reset, verification) belong to no tenant.
    tenant = models.ForeignKey(  # type: ignore[assignment]
        "tenants.Tenant", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=20, choices=MailKind.choices)
    # The event: e.g. the agent message id of a reply, "<conversation>:<handoff time>".
    key = models.CharField(max_length=120)
    recipient = models.EmailField()
    language = models.CharField(max_length=10, default="en")
    subject = models.CharField(max_length=200)
    body = models.TextField()
    reply_to = models.CharField(max_length=254, blank=True)
    headers = models.JSONField(default=dict, blank=True)
    # A reply mail is skipped when the visitor has read up to this seq meanwhile.
    conversation_id = models.BigIntegerField(null=True, blank=True)
    unread_seq = models.IntegerField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=MailStatus.choices, default=MailStatus.PENDING)
    attempts = models.IntegerField(default=0)
    due_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "key", "recipient"], name="outboundmail_once_per_event"),
        ]
        indexes = [
            models.Index(fields=["status", "due_at"], name="outboundmail_due"),
            models.Index(fields=["tenant", "created_at"], name="outboundmail_tenant_created"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.recipient}"


class InboundMailbox(TenantOwnedModel):
    secret_hash = models.CharField(max_length=64, unique=True)
    rotated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant"], name="inboundmailbox_one_per_tenant")]


class EmailVerification(models.Model):
    """When a user proved they read their sign-up address (account-level, no tenant)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    verified_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"user {self.user_id} verified at {self.verified_at}"
