"""Visitor identity: signed visitor tokens, identity-verified contacts, the e-mail label."""

from __future__ import annotations

import math
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from chat import events, ratelimit
from chat.models import (
    Contact,
)
from chat.presenters import contact_payload
from tenants.crypto import constant_time_equals, hmac_sha256_hex
from tenants.errors import ServiceError
from tenants.models import Widget

VISITOR_TOKEN_SALT = "kefu.chat.visitor"


def make_visitor_token(*, contact: Contact) -> str:
    return signing.dumps({"t": contact.tenant_id, "w": contact.widget_id, "c": contact.pk}, salt=VISITOR_TOKEN_SALT)


def check_identity_hash(*, widget: Widget, user_id: str, user_hash: str) -> bool:
    expected = hmac_sha256_hex(widget.identity_secret, user_id)
    return constant_time_equals(expected, (user_hash or "").lower())


def _clean_attributes(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        return {}
    out: dict[str, Any] = {}
    for key, value in list(raw.items())[:30]:
        if isinstance(value, float) and not math.isfinite(value):
            continue  # JSON (and PostgreSQL's jsonb) has no Infinity or NaN
        if isinstance(value, (str, int, float, bool)) or value is None:
            out[str(key)[:60]] = value[:300] if isinstance(value, str) else value
    return out


def resolve_visitor(
    *,
    widget: Widget,
    token: str = "",
    user_id: str = "",
    user_hash: str = "",
    name: str = "",
    attributes: Any = None,
    language: str = "",
    client_ip: str = "",
) -> Contact:
    """The visitor behind a widget socket.

    - user_id + user_hash: the site vouches for the user (HMAC-SHA256 with the widget
      secret, compared in constant time); a wrong hash is refused (code bad_identity).
    - token: a signed visitor token for an *anonymous* contact of this widget; forged,
      expired or foreign tokens are refused (code bad_token). A verified contact's token
      is not enough: without the hash a fresh anonymous visitor starts.
    - neither: a new anonymous contact, within the new-visitor limits per address and per
      widget (code rate_limited), shared by every server process.
    """
    now = timezone.now()
    extra = {"name": (name or "")[:200], "attributes": _clean_attributes(attributes), "language": (language or "")[:16]}
    if user_id:
        user_id = str(user_id)[:200]
        if not check_identity_hash(widget=widget, user_id=user_id, user_hash=user_hash):
            raise ServiceError(_("Identity verification failed."), code="bad_identity")
        try:
            with transaction.atomic():
                contact, _created = Contact.objects.for_tenant(widget.tenant_id).get_or_create(
                    widget=widget,
                    external_user_id=user_id,
                    defaults={"tenant_id": widget.tenant_id, "verified": True, **extra},
                )
        except IntegrityError:  # created concurrently by another device
            contact = Contact.objects.for_tenant(widget.tenant_id).get(widget=widget, external_user_id=user_id)
        updates = {k: v for k, v in extra.items() if v and getattr(contact, k) != v}
        Contact.objects.for_tenant(widget.tenant_id).filter(pk=contact.pk).update(last_seen_at=now, **updates)
        return contact
    if token:
        try:
            data = signing.loads(token, salt=VISITOR_TOKEN_SALT, max_age=settings.KEFU_VISITOR_TOKEN_MAX_AGE_S)
        except signing.SignatureExpired:
            raise ServiceError(_("Your chat session expired."), code="bad_token")
        except signing.BadSignature:
            raise ServiceError(_("Invalid chat session."), code="bad_token")
        if not isinstance(data, dict) or data.get("t") != widget.tenant_id or data.get("w") != widget.pk:
            raise ServiceError(_("Invalid chat session."), code="bad_token")
        contact_or_none = (
            Contact.objects.for_tenant(widget.tenant_id)
            .filter(pk=data.get("c"), widget=widget, deleted_at__isnull=True, verified=False)
            .first()
        )
        if contact_or_none is None:
            raise ServiceError(_("Invalid chat session."), code="bad_token")
        Contact.objects.for_tenant(widget.tenant_id).filter(pk=contact_or_none.pk).update(last_seen_at=now)
        return contact_or_none
    _check_new_visitor_rate(widget, client_ip)
    return Contact.objects.create(tenant_id=widget.tenant_id, widget=widget, last_seen_at=now, **extra)


def _check_new_visitor_rate(widget: Widget, client_ip: str) -> None:
    full = ratelimit.allow(
        [
            ratelimit.Limit(f"nv-ip:{client_ip}", settings.KEFU_IP_NEW_VISITORS_PER_HOUR if client_ip else 0, 3600),
            ratelimit.Limit(f"nv-w:{widget.pk}", settings.KEFU_WIDGET_NEW_VISITORS_PER_MINUTE, 60),
        ]
    )
    if full is not None:
        raise ServiceError(_("Too many new chats from here. Please try again later."), code="rate_limited")


def set_contact_email(*, contact: Contact, email: str) -> Contact:
    """An e-mail the visitor typed: a label for follow-up, never an identity."""
    email = (email or "").strip()[:254]
    try:
        validate_email(email)
    except ValidationError:
        raise ServiceError(_("Enter a valid e-mail address."), code="email")
    Contact.objects.for_tenant(contact.tenant_id).filter(pk=contact.pk).update(email=email)
    contact.email = email
    events.emit(
        events.inbox_group(contact.tenant_id), {"type": "contact", "contact": contact_payload(contact)}
    )
    return contact


def request_transcript(*, contact: Contact, conversation_id: int) -> str:
    """The visitor asked for the conversation by e-mail (mail.notify: once per point in the
    conversation); returns the address it goes to."""
    from chat.services.common import _contact_conversation
    from mail import notify as mail_notify

    conversation = _contact_conversation(contact, conversation_id)
    fresh = Contact.objects.for_tenant(contact.tenant_id).filter(pk=contact.pk).first()
    if fresh is None or not fresh.email:
        raise ServiceError(_("Leave your e-mail address first."), code="no_email")
    with transaction.atomic():
        mail_notify.transcript_requested(contact=fresh, conversation=conversation)
    return fresh.email
