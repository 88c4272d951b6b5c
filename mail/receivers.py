"""Mail on tenants' events (tenants never import mail: it sends signals, this listens)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils import translation

from mail.accounts import queue_verification
from mail.models import MailKind
from mail.outbox import Draft, mail_language, queue_mail
from tenants.models import Invitation, Tenant
from tenants.signals import account_created, invitation_created


def _invitation_created(sender: Any, *, invitation: Invitation, token: str, inviter_name: str, **kwargs: Any) -> None:
    if not invitation.email:
        return  # a link-only invitation: the admin passes the link on
    tenant_name = Tenant.objects.filter(pk=invitation.tenant_id).values_list("name", flat=True).first() or ""
    queue_mail(
        Draft(
            kind=MailKind.INVITATION, key=str(invitation.pk), recipient=invitation.email,
            language=mail_language(translation.get_language() or ""), tenant_id=invitation.tenant_id,
            context={"tenant_name": tenant_name, "inviter_name": inviter_name, "role": invitation.get_role_display(),
                     "link": settings.PUBLIC_BASE_URL + reverse("accept-invitation", args=[token]),
                     "expires_at": invitation.expires_at},
        )
    )


def _account_created(sender: Any, *, user: Any, **kwargs: Any) -> None:
    queue_verification(user=user)


invitation_created.connect(_invitation_created, dispatch_uid="kefu.mail.invitation")
account_created.connect(_account_created, dispatch_uid="kefu.mail.verify")
