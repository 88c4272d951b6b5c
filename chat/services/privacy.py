"""Visitor privacy: data export, deletion on request, and retention (issue 9 #12).

- `forget_contact`: an admin deletes a visitor's data: message bodies, CSAT comments and
  previews of their conversations, their name, e-mail, attributes and verified user id,
  and (through `ml.api`) every learning row and cached vector ml keeps of those
  conversations; `Contact.deleted_at` is set. Conversation, contact and reporting rows
  stay as pseudonymous ids, so dashboards keep their counts. A visitor token of the
  contact no longer opens a session (visitors.resolve_visitor) and its open sockets close.
- `purge_expired_data`: for every tenant with `retention_days`, the same data older than
  that is deleted (a daily beat task, chat.tasks.purge_expired_data); the setting is
  tenants.services.set_retention.
Attachments (chat.services.attachments) go too: their rows, and their stored files once the
deletion commits.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from chat import events
from chat.models import Attachment, Contact, Conversation, CsatResponse, Message
from chat.services.attachments import delete_attachment_files
from mail import privacy as mail_privacy
from ml import api as ml_api
from tenants.models import Membership, Tenant
from tenants.services import check_admin, locked_owned

_PURGE_BATCH = 5000


def forget_contact(*, actor: Membership, contact_id: int) -> dict[str, int]:
    """Delete a visitor's personal data (see module docstring); returns what was removed."""
    check_admin(actor)
    tenant_id = actor.tenant_id
    with transaction.atomic():
        contact = locked_owned(Contact, _("Visitor not found."), tenant=tenant_id, pk=contact_id)
        conversation_ids = list(
            Conversation.objects.for_tenant(tenant_id).filter(contact_id=contact.pk).values_list("pk", flat=True)
        )
        _delete_attachments(Attachment.objects.for_tenant(tenant_id).filter(conversation_id__in=conversation_ids))
        messages = _deleted_messages(Message.objects.for_tenant(tenant_id).filter(conversation_id__in=conversation_ids))
        CsatResponse.objects.for_tenant(tenant_id).filter(conversation_id__in=conversation_ids).update(comment="")
        Conversation.objects.for_tenant(tenant_id).filter(pk__in=conversation_ids).update(last_message_preview="")
        Contact.objects.for_tenant(tenant_id).filter(pk=contact.pk).update(
            name="", email="", attributes={}, external_user_id=None, verified=False, deleted_at=timezone.now()
        )
        learning_rows = ml_api.forget_conversations(tenant_id=tenant_id, conversation_ids=conversation_ids)
        mail_privacy.forget_conversations(tenant_id=tenant_id, conversation_ids=conversation_ids)  # mailed transcripts
        # Open widget sockets of this visitor close; their token no longer opens a session.
        events.emit(events.visitor_group(tenant_id, contact.pk), {"type": "session_ended", "reason": "deleted"})
    return {"conversations": len(conversation_ids), "messages": messages, "learning_rows": learning_rows}


def _deleted_messages(queryset: QuerySet) -> int:
    """Deletes messages (with what cascades from them) in slices of ids, since one huge
    DELETE would hold locks the chat path needs; returns how many messages went."""
    deleted = 0
    while True:
        ids = list(queryset.values_list("pk", flat=True)[:_PURGE_BATCH])
        if not ids:
            return deleted
        deleted += queryset.filter(pk__in=ids).delete()[1].get(Message._meta.label, 0)


def _delete_attachments(queryset: QuerySet) -> int:
    """Attachment rows now, their files once the caller's transaction commits."""
    delete_attachment_files(attachments=queryset)
    return queryset.delete()[0]


def purge_tenant_data(*, tenant_id: int, before: datetime) -> dict[str, int]:
    """Delete one tenant's visitor data created before `before`."""
    with transaction.atomic():
        _delete_attachments(Attachment.objects.for_tenant(tenant_id).filter(created_at__lt=before))
    messages = _deleted_messages(Message.objects.for_tenant(tenant_id).filter(created_at__lt=before))
    CsatResponse.objects.for_tenant(tenant_id).filter(created_at__lt=before).exclude(comment="").update(comment="")
    Conversation.objects.for_tenant(tenant_id).filter(last_message_at__lt=before).exclude(
        last_message_preview=""
    ).update(last_message_preview="")
    learning_rows = ml_api.forget_learning_before(tenant_id=tenant_id, before=before)
    mail_privacy.forget_mail_before(tenant_id=tenant_id, before=before)  # mails hold addresses and transcripts
    return {"messages": messages, "learning_rows": learning_rows}


def purge_expired_data(*, now: datetime | None = None) -> dict[int, dict[str, int]]:
    """Every tenant with a retention setting: its data older than that many days."""
    now = now or timezone.now()
    done: dict[int, dict[str, int]] = {}
    for tenant_id, days in Tenant.objects.filter(retention_days__isnull=False).values_list("pk", "retention_days"):
        done[tenant_id] = purge_tenant_data(tenant_id=tenant_id, before=now - timedelta(days=days or 0))
    return done
