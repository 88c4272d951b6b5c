"""Visitor data in mail: a mail to a visitor holds their address and their conversation,
so it goes when the visitor's data is deleted or expires (chat.services.privacy calls
these in the same transaction / purge)."""

from __future__ import annotations

from datetime import datetime

from mail.models import OutboundMail


def forget_conversations(*, tenant_id: int, conversation_ids: list[int]) -> int:
    return OutboundMail.objects.for_tenant(tenant_id).filter(conversation_id__in=conversation_ids).delete()[0]


def forget_mail_before(*, tenant_id: int, before: datetime) -> int:
    return OutboundMail.objects.for_tenant(tenant_id).filter(created_at__lt=before).delete()[0]
