"""The new tenant's onboarding checklist: four live states read from the database.

Lives in chat (not tenants) because it reads chat's messages and, through ml.api, the
knowledge base; tenants may import neither.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from chat.models import Message, Sender
from ml.api import has_published_article
from tenants.models import Membership, Tenant, Widget
from tenants.selectors import pending_invitations


@dataclass(frozen=True)
class ChecklistItem:
    key: str
    label: str
    hint: str
    url: str
    done: bool


def onboarding_checklist(*, tenant: Tenant) -> list[ChecklistItem]:
    """The four steps, in order, each with where to do it and whether it is done."""
    slug = tenant.slug
    teammates = Membership.objects.for_tenant(tenant).count() >= 2 or pending_invitations(tenant=tenant).exists()
    return [
        ChecklistItem(
            key="knowledge",
            label=str(_("Add knowledge")),
            hint=str(_("Publish at least one knowledge article the bot can answer from.")),
            url=reverse("ml:knowledge", kwargs={"tenant_slug": slug}),
            done=has_published_article(tenant_id=tenant.pk),
        ),
        ChecklistItem(
            key="widget",
            label=str(_("Install the widget")),
            hint=str(_("Create a widget and put its snippet on your site; it counts once it connects.")),
            url=reverse("tenants:settings", kwargs={"tenant_slug": slug}),
            done=Widget.objects.for_tenant(tenant).filter(first_connected_at__isnull=False).exists(),
        ),
        ChecklistItem(
            key="teammate",
            label=str(_("Invite a teammate")),
            hint=str(_("Invite someone to answer conversations with you.")),
            url=reverse("tenants:members", kwargs={"tenant_slug": slug}),
            done=teammates,
        ),
        ChecklistItem(
            key="bot",
            label=str(_("Try the bot")),
            hint=str(_("Send a message through your widget and let the bot answer.")),
            url=reverse("chat:inbox", kwargs={"tenant_slug": slug}),
            done=Message.objects.for_tenant(tenant).filter(sender=Sender.BOT).exists(),
        ),
    ]


def onboarding_done(*, tenant: Tenant) -> bool:
    return all(item.done for item in onboarding_checklist(tenant=tenant))
