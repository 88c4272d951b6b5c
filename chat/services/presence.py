"""Read receipts, typing indicators and agent presence (inbox sockets)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from chat import events
from chat.models import (
    AgentPresence,
    Contact,
    Conversation,
)
from chat.selectors import PRESENCE_TTL
from chat.services.common import _agent_conversation, _contact_conversation
from tenants.models import Membership


def mark_read(*, tenant_id: int, conversation: Conversation, side: str, seq: int, origin: str = "") -> None:
    field = "visitor_read_seq" if side == "visitor" else "agent_read_seq"
    seq = max(0, min(int(seq), conversation.last_seq or int(seq)))
    updated = (
        Conversation.objects.for_tenant(tenant_id)
        .filter(pk=conversation.pk, **{f"{field}__lt": seq})
        .update(**{field: seq})
    )
    if not updated:
        return
    payload = {"type": "read", "conversation_id": conversation.pk, "side": side, "seq": seq}
    if side == "visitor":
        events.emit(events.inbox_group(tenant_id), payload)
    else:
        events.emit(events.visitor_group(tenant_id, conversation.contact_id), payload, origin=origin)


def visitor_read(*, contact: Contact, conversation_id: int, seq: Any, origin: str = "") -> None:
    conv = _contact_conversation(contact, int(conversation_id))
    mark_read(tenant_id=contact.tenant_id, conversation=conv, side="visitor", seq=int(seq), origin=origin)


def agent_read(*, actor: Membership, conversation_id: int, seq: int) -> None:
    conv = _agent_conversation(actor, conversation_id)
    mark_read(tenant_id=actor.tenant_id, conversation=conv, side="agent", seq=seq)


def typing(*, tenant_id: int, conversation: Conversation, side: str, on: bool, origin: str = "") -> None:
    payload = {"type": "typing", "conversation_id": conversation.pk, "side": side, "on": bool(on)}
    if side == "visitor":
        events.send_now(events.inbox_group(tenant_id), payload)
    else:
        events.send_now(events.visitor_group(tenant_id, conversation.contact_id), payload, origin=origin)


def agent_connected(*, actor: Membership, channel_name: str) -> None:
    AgentPresence.objects.update_or_create(
        tenant_id=actor.tenant_id,
        channel_name=channel_name[:200],
        defaults={"membership_id": actor.pk, "heartbeat_at": timezone.now()},
    )


def agent_heartbeat(*, actor: Membership, channel_name: str) -> None:
    AgentPresence.objects.for_tenant(actor.tenant_id).filter(channel_name=channel_name[:200]).update(
        heartbeat_at=timezone.now()
    )


def agent_disconnected(*, actor: Membership, channel_name: str) -> None:
    AgentPresence.objects.for_tenant(actor.tenant_id).filter(channel_name=channel_name[:200]).delete()
    # Forget rows of crashed servers as well.
    AgentPresence.objects.for_tenant(actor.tenant_id).filter(heartbeat_at__lt=timezone.now() - 10 * PRESENCE_TTL).delete()


def agent_typing(*, actor: Membership, conversation_id: int, on: bool) -> None:
    conv = _agent_conversation(actor, conversation_id)
    typing(tenant_id=actor.tenant_id, conversation=conv, side="agent", on=on)


def visitor_typing(*, contact: Contact, conversation_id: int, on: bool) -> None:
    conv = _contact_conversation(contact, int(conversation_id))
    typing(tenant_id=contact.tenant_id, conversation=conv, side="visitor", on=on)
