"""Signed addresses and links: the Reply-To that routes a visitor's answer back to its
conversation, and the unsubscribe link of alert mails."""

from __future__ import annotations

import hmac
import re

from django.conf import settings
from django.core import signing
from django.utils.crypto import salted_hmac

_REPLY_RE = re.compile(r"^reply\+(?P<conv>[0-9]{1,18})\.(?P<sig>[0-9a-f]{24})@", re.IGNORECASE)
_UNSUBSCRIBE_SALT = "kefu.mail.unsubscribe"


def _reply_signature(*, tenant_id: int, conversation_id: int) -> str:
    return salted_hmac("kefu.mail.reply-to", f"{tenant_id}:{conversation_id}", algorithm="sha256").hexdigest()[:24]


def reply_address(*, tenant_id: int, conversation_id: int) -> str:
    sig = _reply_signature(tenant_id=tenant_id, conversation_id=conversation_id)
    return f"reply+{conversation_id}.{sig}@{settings.KEFU_MAIL_INBOUND_DOMAIN}"


def conversation_from_address(*, tenant_id: int, address: str) -> int | None:
    """The conversation id an address names, when its signature is this tenant's."""
    match = _REPLY_RE.match(address.strip())
    if match is None:
        return None
    conversation_id = int(match["conv"])
    expected = _reply_signature(tenant_id=tenant_id, conversation_id=conversation_id)
    return conversation_id if hmac.compare_digest(expected, match["sig"].lower()) else None


def unsubscribe_token(*, membership_id: int) -> str:
    return signing.dumps({"m": membership_id}, salt=_UNSUBSCRIBE_SALT, compress=True)


def membership_from_unsubscribe_token(token: str) -> int | None:
    try:
        data = signing.loads(token, salt=_UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    member = data.get("m") if isinstance(data, dict) else None
    return member if isinstance(member, int) else None
