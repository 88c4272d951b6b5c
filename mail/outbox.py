"""The mail outbox: queue a mail once per event (in the event's transaction), send it from
the `default` queue, record that it was sent.

Idempotency: the row is unique per (kind, key, recipient), so an event queued twice gives
one row; `deliver` sends a row under its row lock and marks it sent in the same
transaction, so a retried or redelivered task finds it sent and does nothing. The one
window left (the SMTP server accepted, the process died before the commit) sends again
with the same Message-ID, which receivers collapse.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from mail.models import SECRET_KINDS, MailKind, MailStatus, OutboundMail
from tenants.dispatch import enqueue

logger = logging.getLogger(__name__)
_SWEEP_BATCH = 100


def mail_language(raw: str) -> str:
    """en or zh-hans: the two languages the mail templates are translated into."""
    return "zh-hans" if (raw or "").lower().replace("_", "-").startswith("zh") else "en"


@dataclass
class Draft:
    kind: MailKind
    key: str
    recipient: str
    language: str
    context: dict[str, object] = field(default_factory=dict)
    tenant_id: int | None = None
    reply_to: str = ""
    unsubscribe_url: str = ""
    delay_s: int = 0
    conversation_id: int | None = None
    unread_seq: int | None = None


def _render(draft: Draft) -> tuple[str, str]:
    context = {**draft.context, "unsubscribe_url": draft.unsubscribe_url}
    with translation.override(draft.language):
        subject = render_to_string(f"mail/{draft.kind}_subject.txt", context).strip()
        body = render_to_string(f"mail/{draft.kind}.txt", context).strip() + "\n"
    return " ".join(subject.split())[:200], body


def queue_mail(draft: Draft) -> OutboundMail | None:
    """Write the mail (rendered now, in its recipient's language) unless this event already
    has one for this recipient; send it after the commit. None when it existed."""
    subject, body = _render(draft)
    headers: dict[str, str] = {}
    if draft.unsubscribe_url:
        headers["List-Unsubscribe"] = f"<{draft.unsubscribe_url}>"
    now = timezone.now()
    try:
        with transaction.atomic():  # a savepoint: a duplicate event leaves the caller's transaction intact
            row = OutboundMail.all_tenants.create(
                tenant_id=draft.tenant_id, kind=draft.kind, key=draft.key[:120], recipient=draft.recipient,
                language=draft.language, subject=subject, body=body, reply_to=draft.reply_to, headers=headers,
                conversation_id=draft.conversation_id, unread_seq=draft.unread_seq,
                due_at=now + timedelta(seconds=draft.delay_s),
            )
    except IntegrityError:
        return None
    if draft.delay_s <= 0:
        from mail.tasks import send_mail

        enqueue(send_mail, row.pk)
    return row


def _message(row: OutboundMail) -> EmailMessage:
    domain = settings.KEFU_MAIL_INBOUND_DOMAIN
    headers = {**row.headers, "Message-ID": f"<kefu.{row.kind}.{row.pk}@{domain}>"}
    if row.headers.get("List-Unsubscribe"):
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return EmailMessage(
        subject=row.subject, body=row.body, from_email=settings.DEFAULT_FROM_EMAIL, to=[row.recipient],
        reply_to=[row.reply_to] if row.reply_to else None, headers=headers,
    )


def _read_meanwhile(row: OutboundMail) -> bool:
    """A reply the visitor has seen in the widget needs no e-mail."""
    if row.kind != MailKind.REPLY or row.conversation_id is None or row.unread_seq is None or row.tenant_id is None:
        return False
    from chat.models import Conversation

    read = (
        Conversation.objects.for_tenant(row.tenant_id)
        .filter(pk=row.conversation_id)
        .values_list("visitor_read_seq", flat=True)
        .first()
    )
    return read is not None and read >= row.unread_seq


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(600, 5 * 2 ** min(attempts, 7)) * random.uniform(0.8, 1.2))  # noqa: S311


def deliver(*, mail_id: int) -> str:
    """Send one due mail; returns its status. Raises the send error after recording it (the
    task retries); a row that is sent, skipped or not due yet is left alone."""
    error: Exception | None = None
    with transaction.atomic():
        # Cross-tenant by design: the id names the row; the task serves every tenant.
        row = OutboundMail.all_tenants.select_for_update().filter(pk=mail_id).first()
        if row is None:
            return "missing"
        if row.status != MailStatus.PENDING or row.due_at > timezone.now():
            return str(row.status)
        if _read_meanwhile(row):
            row.status = MailStatus.SKIPPED
            row.save(update_fields=["status"])
            return str(row.status)
        row.attempts += 1
        try:
            _message(row).send()
        except Exception as exc:  # noqa: BLE001 - recorded here, raised after the commit
            error = exc
            row.last_error = f"{type(exc).__name__}: {exc}"[:300]
            row.due_at = timezone.now() + _backoff(row.attempts)
            if row.attempts >= settings.KEFU_MAIL_MAX_ATTEMPTS:
                row.status = MailStatus.FAILED
        else:
            row.status, row.sent_at, row.last_error = MailStatus.SENT, timezone.now(), ""
            if row.kind in SECRET_KINDS:
                row.body = ""  # its one-time link is the recipient's alone
        row.save()
    if error is not None:
        logger.warning("mail %s to %s failed (attempt %s): %s", row.pk, row.recipient, row.attempts, row.last_error)
        if row.status == MailStatus.PENDING:
            raise error
    return str(row.status)


def sweep() -> int:
    """Beat: send due rows (delayed replies, retries after backoff, tasks the broker lost)."""
    from mail.tasks import send_mail
    from tenants.dispatch import send

    # Cross-tenant by design: the sweep serves every tenant.
    due = list(
        OutboundMail.all_tenants.filter(status=MailStatus.PENDING, due_at__lte=timezone.now())
        .order_by("due_at")
        .values_list("pk", flat=True)[:_SWEEP_BATCH]
    )
    for mail_id in due:
        send(send_mail, mail_id)
    return len(due)
