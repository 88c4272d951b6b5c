"""Reads for the mail pages."""

from __future__ import annotations

from django.db.models import QuerySet

from mail.models import InboundMailbox, OutboundMail
from tenants.models import Tenant


def recent_mail(*, tenant: Tenant, limit: int = 100) -> QuerySet[OutboundMail]:
    return OutboundMail.objects.for_tenant(tenant).order_by("-created_at")[:limit]


def inbound_configured(*, tenant: Tenant) -> bool:
    return InboundMailbox.objects.for_tenant(tenant).exists()
