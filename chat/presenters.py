"""Plain-dict shapes of chat objects for sockets and events (docs/protocol.md)."""

from __future__ import annotations

from typing import Any

from chat.models import Contact, Conversation, Message


def iso(value: Any) -> str | None:
    return value.isoformat() if value else None


def message_payload(m: Message, *, for_agent: bool = False, author_name: str = "") -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": m.pk,
        "conversation_id": m.conversation_id,
        "seq": m.seq,
        "client_msg_id": m.client_msg_id,
        "sender": m.sender,
        "body": m.body,
        "event": m.event,
        "reply_to": m.reply_to_id,
        "citations": m.citations or [],
        "created_at": iso(m.created_at),
        "author_name": author_name,
    }
    if for_agent:
        data.update(
            author_id=m.author_id,
            intent=m.intent,
            intent_confidence=m.intent_confidence,
            sentiment=m.sentiment,
            sentiment_score=m.sentiment_score,
            language=m.language,
            explanation=m.explanation or {},
            feedback=m.feedback,
        )
    return data


def conversation_payload(c: Conversation, *, for_agent: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": c.pk,
        "status": c.status,
        "handled_by": c.handled_by,
        "last_seq": c.last_seq,
        "csat_state": c.csat_state,
        "cycle": c.cycle,
        "created_at": iso(c.created_at),
        "resolved_at": iso(c.resolved_at),
        "last_message_at": iso(c.last_message_at),
        "preview": c.last_message_preview,
        "visitor_read_seq": c.visitor_read_seq,
        "agent_read_seq": c.agent_read_seq,
    }
    if for_agent:
        data.update(
            widget_id=c.widget_id,
            contact_id=c.contact_id,
            assignee_id=c.assignee_id,
            handoff_reason=c.handoff_reason,
            handed_off_at=iso(c.handed_off_at),
            snoozed_until=iso(c.snoozed_until),
            bot_turns=c.bot_turns,
        )
    return data


def contact_payload(contact: Contact) -> dict[str, Any]:
    return {
        "id": contact.pk,
        "verified": contact.verified,
        "user_id": contact.external_user_id,
        "email": contact.email,
        "name": contact.name,
        "attributes": contact.attributes or {},
        "language": contact.language,
    }
