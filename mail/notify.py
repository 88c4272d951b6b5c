"""The chat events that send mail, called by chat.services inside the event's transaction
(the outbox row commits with the event or not at all)."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from chat.models import Contact, Conversation, Message, Sender
from mail.addresses import reply_address, unsubscribe_token
from mail.models import MailKind
from mail.outbox import Draft, mail_language, queue_mail
from tenants.models import Membership, Tenant

_TRANSCRIPT_MAX_MESSAGES = 200
_VISIBLE_TO_VISITOR = (Sender.VISITOR, Sender.BOT, Sender.AGENT)


def _transcript(conversation: Conversation) -> list[dict[str, str]]:
    rows = list(
        Message.objects.for_tenant(conversation.tenant_id)
        .filter(conversation_id=conversation.pk, sender__in=_VISIBLE_TO_VISITOR)
        .order_by("-seq")
        .values("sender", "body", "created_at")[:_TRANSCRIPT_MAX_MESSAGES]
    )
    return [{"sender": r["sender"], "body": r["body"], "at": r["created_at"]} for r in reversed(rows)]


def _visitor(conversation: Conversation) -> Contact | None:
    contact = Contact.objects.for_tenant(conversation.tenant_id).filter(pk=conversation.contact_id).first()
    if contact is None or contact.deleted_at is not None or not contact.email:
        return None
    return contact


def _tenant_name(tenant_id: int) -> str:
    return Tenant.objects.filter(pk=tenant_id).values_list("name", flat=True).first() or ""


def agent_replied(*, conversation: Conversation, message: Message, author_name: str) -> None:
    """Mail the reply (and the conversation so far) to a visitor who left an address, unless
    they read it in the widget within KEFU_MAIL_REPLY_DELAY_S (checked when it is due)."""
    contact = _visitor(conversation)
    if contact is None:
        return
    queue_mail(
        Draft(
            kind=MailKind.REPLY, key=f"message:{message.pk}", recipient=contact.email,
            language=mail_language(contact.language), tenant_id=conversation.tenant_id,
            context={"tenant_name": _tenant_name(conversation.tenant_id), "author_name": author_name,
                     "reply": message.body, "transcript": _transcript(conversation)},
            reply_to=reply_address(tenant_id=conversation.tenant_id, conversation_id=conversation.pk),
            delay_s=settings.KEFU_MAIL_REPLY_DELAY_S, conversation_id=conversation.pk, unread_seq=message.seq,
        )
    )


def transcript_requested(*, contact: Contact, conversation: Conversation) -> bool:
    """The visitor asked for the transcript: one mail per point in the conversation (a
    second click before anything new was said sends nothing). False without an address."""
    if not contact.email or contact.deleted_at is not None:
        return False
    queue_mail(
        Draft(
            kind=MailKind.TRANSCRIPT, key=f"{conversation.pk}:{conversation.last_seq}", recipient=contact.email,
            language=mail_language(contact.language), tenant_id=conversation.tenant_id,
            context={"tenant_name": _tenant_name(conversation.tenant_id), "transcript": _transcript(conversation)},
            reply_to=reply_address(tenant_id=conversation.tenant_id, conversation_id=conversation.pk),
            conversation_id=conversation.pk,
        )
    )
    return True


def _alert(*, kind: MailKind, key: str, conversation: Conversation, members: list[Membership], extra: dict[str, object]) -> None:
    inbox_url = settings.PUBLIC_BASE_URL + reverse("chat:inbox", kwargs={"tenant_slug": conversation.tenant.slug})
    for member in members:
        if not member.email_alerts or not member.user.email or not member.user.is_active:
            continue
        unsubscribe = settings.PUBLIC_BASE_URL + reverse(
            "mail-unsubscribe", kwargs={"token": unsubscribe_token(membership_id=member.pk)}
        )
        queue_mail(
            Draft(
                kind=kind, key=key, recipient=member.user.email, language=mail_language(member.language),
                tenant_id=conversation.tenant_id, unsubscribe_url=unsubscribe,
                context={"tenant_name": conversation.tenant.name, "conversation_id": conversation.pk,
                         "inbox_url": f"{inbox_url}?conversation={conversation.pk}",
                         "preview": conversation.last_message_preview, "member_name": member.name, **extra},
            )
        )


def handed_off(*, conversation: Conversation) -> None:
    """Alert the tenant's members (those who keep alerts on) that a person is needed. An
    agent's own take-over alerts nobody."""
    from ml.api import HANDOFF_REASON_LABELS, HandoffReason

    if conversation.handoff_reason == HandoffReason.AGENT_TAKEOVER:
        return
    members = list(Membership.objects.for_tenant(conversation.tenant_id).select_related("user", "tenant"))
    at = conversation.handed_off_at or timezone.now()
    _alert(kind=MailKind.HANDOFF_ALERT, key=f"{conversation.pk}:{at.timestamp():.6f}", conversation=conversation,
           members=members, extra={"reason": HANDOFF_REASON_LABELS.get(conversation.handoff_reason or "", "")})


def assigned(*, conversation: Conversation, assignee_id: int, by_id: int | None) -> None:
    """Alert the member a conversation was assigned to (not when they took it themselves)."""
    if assignee_id == by_id:
        return
    members = list(Membership.objects.for_tenant(conversation.tenant_id).filter(pk=assignee_id).select_related("user", "tenant"))
    key = f"{conversation.pk}:{assignee_id}:{timezone.now().timestamp():.6f}"
    _alert(kind=MailKind.ASSIGNED_ALERT, key=key, conversation=conversation, members=members, extra={})
