"""Reads for live chat. Every function takes the tenant (or the visitor's Contact, which
names its tenant and widget) explicitly."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.db import connection
from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from chat.models import (
    AgentPresence,
    CannedResponse,
    Contact,
    Conversation,
    ConversationLabel,
    ConversationStatus,
    CsatResponse,
    HandledBy,
    Label,
    Message,
    Sender,
)
from tenants.models import Membership

PRESENCE_TTL = timedelta(seconds=90)
REPLAY_LIMIT = 500
SEARCH_ID_LIMIT = 10000  # inbox search: matching ids passed as a list up to this many


def contact_conversations(*, contact: Contact) -> QuerySet[Conversation]:
    return (
        Conversation.objects.for_tenant(contact.tenant_id)
        .filter(contact_id=contact.pk, widget_id=contact.widget_id)
        .order_by("-created_at")
    )


def contact_conversation(*, contact: Contact, conversation_id: Any) -> Conversation | None:
    try:
        pk = int(conversation_id)
    except (TypeError, ValueError):
        return None
    return contact_conversations(contact=contact).filter(pk=pk).first()


def messages_after(
    *, tenant_id: int, conversation_id: int, after_seq: int = 0, for_agent: bool = False, limit: int = REPLAY_LIMIT
) -> list[Message]:
    """The gap after `after_seq`, from the database (never from the channel layer)."""
    qs = Message.objects.for_tenant(tenant_id).filter(conversation_id=conversation_id, seq__gt=max(0, int(after_seq)))
    if not for_agent:
        qs = qs.exclude(sender=Sender.NOTE)
    return list(qs.order_by("seq")[:limit])


def author_names(*, tenant_id: int, messages: list[Message]) -> dict[int, str]:
    ids = {m.author_id for m in messages if m.author_id}
    if not ids:
        return {}
    return {m.pk: m.name for m in Membership.objects.for_tenant(tenant_id).filter(pk__in=ids).select_related("user")}


def agents_online(*, tenant_id: int) -> bool:
    return AgentPresence.objects.for_tenant(tenant_id).filter(heartbeat_at__gte=timezone.now() - PRESENCE_TTL).exists()


def queue_position(*, conversation: Conversation) -> int:
    """1-based place among unassigned human-handled open conversations, oldest handoff first."""
    since = conversation.handed_off_at or conversation.created_at
    ahead = (
        Conversation.objects.for_tenant(conversation.tenant_id)
        .filter(
            handled_by=HandledBy.HUMAN,
            status=ConversationStatus.OPEN,
            assignee__isnull=True,
            handed_off_at__lt=since,
        )
        .count()
    )
    return ahead + 1


def inbox_conversations(
    *,
    tenant_id: int,
    membership_id: int | None,
    view: str = "all",
    status: str | None = None,
    handled_by: str | None = None,
    label_id: int | None = None,
    contact_id: int | None = None,
    agent_id: int | None = None,
    since: date | None = None,
    until: date | None = None,
    q: str = "",
) -> QuerySet[Conversation]:
    """The inbox list: a view (all / unassigned / mine), filters, and a search `q` over
    message text and the contact's name and e-mail (see search_filter)."""
    qs = Conversation.objects.for_tenant(tenant_id)
    if view == "unassigned":
        qs = qs.filter(assignee__isnull=True)
    elif view == "mine":
        qs = qs.filter(assignee_id=membership_id) if membership_id else qs.none()
    given = {
        "status": status,
        "handled_by": handled_by,
        "contact_id": contact_id,
        "assignee_id": agent_id,
        "created_at__date__gte": since,
        "created_at__date__lte": until,
    }
    qs = qs.filter(**{lookup: value for lookup, value in given.items() if value})  # a filter left empty: any
    if label_id:
        qs = qs.filter(
            pk__in=ConversationLabel.objects.for_tenant(tenant_id).filter(label_id=label_id).values("conversation_id")
        )
    if q.strip():
        # Contacts in a second query: joined, the planner hashes every contact of the
        # tenant for the thousands of matches before it keeps one page.
        qs = qs.filter(search_filter(tenant_id=tenant_id, q=q.strip())).prefetch_related("contact")
    else:
        qs = qs.select_related("contact")
    return qs.order_by("-last_message_at", "-pk")


def search_filter(*, tenant_id: int, q: str) -> Q:
    """Conversations with a message containing `q`, or whose contact's name or e-mail does
    (case-insensitive substring: any language, Chinese included). On PostgreSQL each
    `icontains` is served by a trigram GIN index (chat migration 0007); SQLite scans.

    The matching conversation ids are read first (one indexed query per column) and passed
    as a list, so that the list query and its count do not redo the text search and the
    planner sees how few rows match; past SEARCH_ID_LIMIT matches it stays a subquery."""
    messages = Message.objects.for_tenant(tenant_id).filter(body__icontains=q).values_list("conversation_id", flat=True)
    contacts = Contact.objects.for_tenant(tenant_id)
    by_contact = [
        *contacts.filter(name__icontains=q).values_list("pk", flat=True)[: SEARCH_ID_LIMIT + 1],
        *contacts.filter(email__icontains=q).values_list("pk", flat=True)[: SEARCH_ID_LIMIT + 1],
    ]
    ids = list(messages.distinct()[: SEARCH_ID_LIMIT + 1])
    in_messages = Q(pk__in=_id_list(ids)) if len(ids) <= SEARCH_ID_LIMIT else Q(pk__in=messages)
    if len(by_contact) > SEARCH_ID_LIMIT:
        by_name, by_email = contacts.filter(name__icontains=q), contacts.filter(email__icontains=q)
        return in_messages | Q(contact_id__in=by_name.values("pk")) | Q(contact_id__in=by_email.values("pk"))
    return in_messages | Q(contact_id__in=by_contact)


def _id_list(ids: list[int]) -> Any:
    """`ids` for an IN filter: on PostgreSQL one array parameter (thousands of ids cost no
    more to send and plan than one), elsewhere the plain list."""
    if connection.vendor == "postgresql" and ids:
        return RawSQL("SELECT unnest(%s::bigint[])", (ids,))
    return ids


def conversation_get(*, tenant_id: int, conversation_id: int) -> Conversation | None:
    return Conversation.objects.for_tenant(tenant_id).filter(pk=conversation_id).select_related("contact").first()


def conversation_labels(*, tenant_id: int, conversation_ids: list[int]) -> dict[int, list[Label]]:
    out: dict[int, list[Label]] = {cid: [] for cid in conversation_ids}
    rows = (
        ConversationLabel.objects.for_tenant(tenant_id)
        .filter(conversation_id__in=conversation_ids)
        .select_related("label")
        .order_by("label__name")
    )
    for row in rows:
        out.setdefault(row.conversation_id, []).append(row.label)
    return out


def conversation_csat(*, tenant_id: int, conversation_id: int) -> list[CsatResponse]:
    return list(CsatResponse.objects.for_tenant(tenant_id).filter(conversation_id=conversation_id).order_by("cycle"))


def label_list(*, tenant_id: int) -> QuerySet[Label]:
    return Label.objects.for_tenant(tenant_id).order_by("name")


def canned_list(*, tenant_id: int) -> QuerySet[CannedResponse]:
    return CannedResponse.objects.for_tenant(tenant_id).order_by("shortcut")


def contact_get(*, tenant_id: int, contact_id: int) -> Contact | None:
    return Contact.objects.for_tenant(tenant_id).filter(pk=contact_id).first()


def contact_conversation_count(*, tenant_id: int, contact_id: int) -> int:
    return Conversation.objects.for_tenant(tenant_id).filter(contact_id=contact_id).count()


def contact_export(*, tenant_id: int, contact_id: int) -> dict[str, Any] | None:
    """A visitor's data as plain JSON (issue 9 #12): the contact, and each of *their*
    conversations with its messages and CSAT answers. Agents' private notes and system
    events are the team's, not the visitor's, and are left out."""
    contact = contact_get(tenant_id=tenant_id, contact_id=contact_id)
    if contact is None:
        return None
    conversations = list(
        Conversation.objects.for_tenant(tenant_id).filter(contact_id=contact.pk).order_by("created_at", "pk")
    )
    ids = [c.pk for c in conversations]
    messages: dict[int, list[dict[str, Any]]] = {}
    for m in (
        Message.objects.for_tenant(tenant_id)
        .filter(conversation_id__in=ids, sender__in=[Sender.VISITOR, Sender.BOT, Sender.AGENT])
        .order_by("conversation_id", "seq")
    ):
        messages.setdefault(m.conversation_id, []).append(
            {"seq": m.seq, "sender": m.sender, "body": m.body, "created_at": m.created_at.isoformat()}
        )
    csat: dict[int, list[dict[str, Any]]] = {}
    for r in CsatResponse.objects.for_tenant(tenant_id).filter(conversation_id__in=ids).order_by("created_at"):
        csat.setdefault(r.conversation_id, []).append(
            {"rating": r.rating, "comment": r.comment, "created_at": r.created_at.isoformat()}
        )
    return {
        "contact": {
            "id": contact.pk,
            "widget_id": contact.widget_id,
            "name": contact.name,
            "email": contact.email,
            "external_user_id": contact.external_user_id,
            "verified": contact.verified,
            "attributes": contact.attributes,
            "language": contact.language,
            "created_at": contact.created_at.isoformat(),
            "last_seen_at": contact.last_seen_at.isoformat() if contact.last_seen_at else None,
            "deleted_at": contact.deleted_at.isoformat() if contact.deleted_at else None,
        },
        "conversations": [
            {
                "id": c.pk,
                "status": c.status,
                "created_at": c.created_at.isoformat(),
                "resolved_at": c.resolved_at.isoformat() if c.resolved_at else None,
                "messages": messages.get(c.pk, []),
                "csat": csat.get(c.pk, []),
            }
            for c in conversations
        ],
    }
