"""A visitor's e-mail answer, posted raw (RFC 822) by the mail provider's inbound webhook,
becomes a visitor message in its conversation.

Authenticated twice: the tenant's inbound secret (a header: which tenant posts) and the
signed reply address (which conversation of that tenant). Stored through the widget's own
service (chat.services.send_visitor_message) with a client_msg_id derived from the
Message-ID, so a webhook that posts the same mail twice stores one message.
"""

from __future__ import annotations

import hashlib
import html
import re
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses

from django.conf import settings
from django.db import transaction
from django.utils.html import strip_tags
from django.utils.translation import gettext as _

from chat.models import Contact, Conversation
from chat.services import send_visitor_message
from mail.addresses import conversation_from_address
from mail.models import InboundMailbox
from tenants.crypto import new_token, sha256_hex
from tenants.errors import ServiceError
from tenants.models import Tenant

_ADDRESS_HEADERS = ("To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To")
# Where the quoted original starts: "On … wrote:", Outlook's separator, Chinese clients'
# "在 … 写道：", a "From:" header block, or ">" quoting.
_QUOTE_START = re.compile(
    r"^\s*(On\b.*\bwrote:\s*$|-{2,}\s*Original Message\s*-{2,}|_{5,}\s*$|From:\s.*$|在.*写道[:：]\s*$|>)",
    re.IGNORECASE,
)


def rotate_inbound_secret(*, tenant: Tenant) -> str:
    """A new inbound secret for the tenant (shown once; only its hash is kept)."""
    secret = new_token()
    with transaction.atomic():
        InboundMailbox.objects.for_tenant(tenant).delete()
        InboundMailbox.objects.create(tenant=tenant, secret_hash=sha256_hex(secret))
    return secret


def tenant_for_secret(secret: str) -> Tenant | None:
    if not secret:
        return None
    # Cross-tenant by design: the secret is what names the tenant.
    box = InboundMailbox.all_tenants.select_related("tenant").filter(secret_hash=sha256_hex(secret)).first()
    return box.tenant if box else None


def _html_to_text(markup: str) -> str:
    markup = re.sub(r"(?is)<blockquote.*?</blockquote>", "", markup)  # the quoted original
    markup = re.sub(r"(?i)<br\s*/?>|</p>|</div>", "\n", markup)
    return html.unescape(strip_tags(markup))


def reply_text(message: EmailMessage) -> str:
    """The new text of a reply: the plain part (or the HTML one, tags stripped) up to the
    quoted original."""
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    text = part.get_content()
    if part.get_content_type() == "text/html":
        text = _html_to_text(text)
    kept: list[str] = []
    for line in text.replace("\r\n", "\n").split("\n"):
        if _QUOTE_START.match(line):
            break
        kept.append(line)
    return "\n".join(kept).strip()


def _addressed_conversation(tenant: Tenant, message: EmailMessage) -> int | None:
    values = [str(v) for name in _ADDRESS_HEADERS for v in message.get_all(name, [])]
    for _name, address in getaddresses(values):
        conversation_id = conversation_from_address(tenant_id=tenant.pk, address=address)
        if conversation_id is not None:
            return conversation_id
    return None


def receive(*, tenant: Tenant, raw: bytes) -> tuple[int, bool]:
    """Store the reply; returns (message id, duplicate). ServiceError: not_found (no signed
    address of this tenant's conversation), empty (nothing above the quote)."""
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    conversation_id = _addressed_conversation(tenant, message)
    conversation = (
        Conversation.objects.for_tenant(tenant).filter(pk=conversation_id).first() if conversation_id else None
    )
    if conversation is None:
        raise ServiceError(_("No conversation of this account is addressed."), code="not_found")
    contact = Contact.objects.for_tenant(tenant).filter(pk=conversation.contact_id, deleted_at__isnull=True).first()
    if contact is None:
        raise ServiceError(_("No conversation of this account is addressed."), code="not_found")
    text = reply_text(message)[: settings.KEFU_MAX_MESSAGE_CHARS]
    if not text:
        raise ServiceError(_("The message is empty."), code="empty")
    message_id = str(message.get("Message-ID", "") or "").strip() or sha256_hex(raw.decode("latin-1"))
    client_msg_id = "mail:" + hashlib.sha256(message_id.encode()).hexdigest()[:40]
    posted = send_visitor_message(
        contact=contact, body=text, client_msg_id=client_msg_id, conversation_id=conversation.pk
    )
    return posted.message.pk, posted.duplicate
