"""Reads for attachments: who may fetch one (chat.attachment_views). Apart from
chat.selectors because the visitor check needs the token salt from chat.services."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import signing

from chat.models import Attachment, Contact, Sender
from chat.services.visitors import VISITOR_TOKEN_SALT
from tenants.models import Membership


def attachment_for_member(*, user: Any, key: str) -> Attachment | None:
    """The attachment `key` if `user` is a member of its tenant (any role)."""
    # Cross-tenant by design: the random key names the attachment; membership decides.
    found = Attachment.all_tenants.filter(key=key).first()
    if found is None or not getattr(user, "is_authenticated", False):
        return None
    return found if Membership.objects.filter(user=user, tenant_id=found.tenant_id).exists() else None


def attachment_for_visitor(*, token: str, key: str) -> Attachment | None:
    """The attachment `key` if the signed visitor `token` names its conversation's contact
    (a contact whose data was deleted has none)."""
    try:
        data = signing.loads(token, salt=VISITOR_TOKEN_SALT, max_age=settings.KEFU_VISITOR_TOKEN_MAX_AGE_S)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("t"), int) or not isinstance(data.get("c"), int):
        return None
    found = Attachment.objects.for_tenant(data["t"]).filter(key=key).select_related("conversation").first()
    if found is None or found.conversation.contact_id != data["c"] or found.sender == Sender.NOTE:
        return None
    live = Contact.objects.for_tenant(data["t"]).filter(pk=data["c"], deleted_at__isnull=True).exists()
    return found if live else None
