"""Hand-built histories: conversations and reporting events written directly."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from chat.models import Contact, Conversation, ReportingEvent
from tenants.models import Tenant, Widget

UTC = dt.UTC


def at(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> dt.datetime:
    return dt.datetime(y, mo, d, h, mi, s, tzinfo=UTC)


def widget(tenant: Tenant, name: str = "Web") -> Widget:
    return Widget.objects.create(
        tenant=tenant, name=name, public_key="pk_" + secrets.token_hex(10), identity_secret=secrets.token_hex(16)
    )


class History:
    def __init__(self, tenant: Tenant, w: Widget) -> None:
        self.tenant, self.widget = tenant, w

    def conversation(self, start: dt.datetime, *, contact: Contact | None = None, created_event: bool = True) -> Conversation:
        contact = contact or Contact.objects.create(tenant=self.tenant, widget=self.widget)
        conv = Conversation.objects.create(tenant=self.tenant, widget=self.widget, contact=contact)
        Conversation.objects.for_tenant(self.tenant).filter(pk=conv.pk).update(created_at=start)
        conv.created_at = start
        if created_event:
            self.ev(conv, "conversation_created", start, data={"contact_id": contact.pk})
        return conv

    def ev(self, conv: Conversation, kind: str, when: dt.datetime, **kw: Any) -> ReportingEvent:
        return ReportingEvent.objects.create(
            tenant=self.tenant, conversation=conv, widget_id=conv.widget_id, kind=kind, at=when, **kw
        )

    def bot(self, conv: Conversation, when: dt.datetime, intent: str = "order_status", sentiment: str = "neutral") -> None:
        self.ev(conv, "bot_replied", when, value=0.9, data={"action": "answer", "intent": intent, "sentiment": sentiment})

    def human(self, conv: Conversation, when: dt.datetime, agent_id: int | None) -> None:
        self.ev(conv, "first_human_reply", when, agent_id=agent_id)
        self.ev(conv, "agent_replied", when, agent_id=agent_id)

    def resolve(self, conv: Conversation, when: dt.datetime, agent_id: int | None = None, survey: bool = True) -> None:
        self.ev(conv, "resolved", when, agent_id=agent_id)
        if survey:
            self.ev(conv, "csat_sent", when, agent_id=agent_id)
