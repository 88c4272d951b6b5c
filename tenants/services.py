"""Writes for tenants, members, invitations, widgets and API keys.

Keyword-only functions that take the acting membership explicitly and check its role
(Zulip's check_*/do_* style). Views call exactly one of these.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import TypeVar
from urllib.parse import urlsplit

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Model
from django.utils import timezone
from django.utils.crypto import get_random_string
from django.utils.text import slugify
from django.utils.translation import gettext as _

from tenants import signals
from tenants.crypto import new_token, sha256_hex
from tenants.errors import ErrorCode, ServiceError
from tenants.models import ADMIN_ROLES, ApiKey, Invitation, Membership, Role, Tenant, Widget

User = get_user_model()
INVITATION_TTL = timedelta(days=7)
_M = TypeVar("_M", bound=Model)


def check_admin(actor: Membership) -> None:
    if actor.role not in ADMIN_ROLES:
        raise ServiceError(_("Only owners and admins can do this."), code="forbidden")


def locked_owned(model: type[_M], missing: str, *, tenant: Tenant | int, pk: int) -> _M:
    """The tenant's row `pk` of `model`, locked for update (inside the caller's transaction);
    none there is a NOT_FOUND refusal saying `missing`."""
    row = model.objects.for_tenant(tenant).select_for_update().filter(pk=pk).first()  # type: ignore[attr-defined]
    if row is None:
        raise ServiceError(missing, code=ErrorCode.NOT_FOUND)
    return row  # type: ignore[no-any-return]


def delete_owned(model: type[Model], missing: str, *, tenant: Tenant | int, pk: int) -> None:
    """Delete the tenant's row `pk` of `model`; none there is a NOT_FOUND refusal saying `missing`."""
    deleted, _rows = model.objects.for_tenant(tenant).filter(pk=pk).delete()  # type: ignore[attr-defined]
    if not deleted:
        raise ServiceError(missing, code=ErrorCode.NOT_FOUND)


# --- sign-up and tenants --------------------------------------------------------------


def _unique_slug(name: str) -> str:
    base = slugify(name)[:40] or "team"
    slug = base
    while Tenant.objects.filter(slug=slug).exists():
        slug = f"{base}-{get_random_string(4, 'abcdefghijkmnpqrstuvwxyz23456789')}"
    return slug


@transaction.atomic
def create_tenant(*, name: str, owner: User, timezone_name: str = "UTC") -> Tenant:  # type: ignore[valid-type]
    name = name.strip()
    if not name:
        raise ServiceError(_("Give your business a name."))
    tenant = Tenant.objects.create(name=name[:120], slug=_unique_slug(name), timezone=timezone_name)
    Membership.objects.create(tenant=tenant, user=owner, role=Role.OWNER)
    return tenant


def create_account(*, email: str, password: str, full_name: str = "") -> User:  # type: ignore[valid-type]
    email = email.strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ServiceError(_("Enter a valid e-mail address."), code="email") from None
    if User.objects.filter(username=email).exists():
        raise ServiceError(_("An account with this e-mail already exists. Log in instead."), code="email_taken")
    try:
        validate_password(password)
    except ValidationError as exc:
        raise ServiceError(" ".join(exc.messages), code="password") from None
    first, _sep, last = full_name.strip().partition(" ")
    return User.objects.create_user(username=email, email=email, password=password, first_name=first, last_name=last)


@transaction.atomic
def sign_up(*, email: str, password: str, business_name: str, full_name: str = "") -> tuple[User, Tenant]:  # type: ignore[valid-type]
    if not business_name.strip():
        raise ServiceError(_("Give your business a name."))
    user = create_account(email=email, password=password, full_name=full_name)
    tenant = create_tenant(name=business_name, owner=user)
    signals.account_created.send(sender=User, user=user)  # the mail app queues the verification mail
    return user, tenant


MAX_RETENTION_DAYS = 3650


def set_retention(*, actor: Membership, days: int | None) -> Tenant:
    """How many days visitor data is kept (None: until deleted by hand); the purge itself
    is chat's (chat.services.privacy.purge_expired_data, daily)."""
    check_admin(actor)
    if days is not None and not 1 <= days <= MAX_RETENTION_DAYS:
        raise ServiceError(_("Keep visitor data between 1 and %(max)s days.") % {"max": MAX_RETENTION_DAYS})
    Tenant.objects.filter(pk=actor.tenant_id).update(retention_days=days)
    actor.tenant.retention_days = days
    return actor.tenant


# --- members and invitations ----------------------------------------------------------


def create_invitation(*, actor: Membership, role: str, email: str = "") -> tuple[Invitation, str]:
    """Returns the invitation and the raw token (only its hash is stored)."""
    check_admin(actor)
    if role not in Role.values:
        raise ServiceError(_("Unknown role."))
    if role == Role.OWNER and actor.role != Role.OWNER:
        raise ServiceError(_("Only an owner can invite another owner."), code="forbidden")
    token = new_token()
    invitation = Invitation.objects.create(
        tenant=actor.tenant,
        token_hash=sha256_hex(token),
        email=email.strip().lower(),
        role=role,
        invited_by_id=actor.user_id,  # None for an API key
        expires_at=timezone.now() + INVITATION_TTL,
    )
    # The mail app mails the link to the address (in this transaction's outbox).
    signals.invitation_created.send(
        sender=Invitation, invitation=invitation, token=token, inviter_name=actor.name if actor.user_id else actor.tenant.name
    )
    return invitation, token


def invitation_for_token(*, token: str) -> Invitation | None:
    # Cross-tenant by design: the token is all the invitee has.
    invitation = Invitation.all_tenants.select_related("tenant").filter(token_hash=sha256_hex(token)).first()
    if invitation is None or invitation.revoked_at or invitation.accepted_at or invitation.expires_at < timezone.now():
        return None
    return invitation


def check_invitation_email(*, invitation: Invitation, email: str) -> None:
    """An invitation addressed to an e-mail is accepted only by that e-mail (any case)."""
    if invitation.email and (email or "").strip().lower() != invitation.email.strip().lower():
        raise ServiceError(
            _("This invitation is for %(email)s. Log in or sign up with that address to accept it.")
            % {"email": invitation.email},
            code="wrong_email",
        )


@transaction.atomic
def accept_invitation(*, token: str, user: User) -> Membership:  # type: ignore[valid-type]
    invitation = invitation_for_token(token=token)
    if invitation is None:
        raise ServiceError(_("This invitation link is invalid, used or expired."), code="invalid_invitation")
    check_invitation_email(invitation=invitation, email=user.email or user.get_username())  # type: ignore[attr-defined]
    existing = Membership.objects.for_tenant(invitation.tenant).filter(user=user).first()
    if existing is not None:
        membership = existing
    else:
        membership = Membership.objects.create(tenant=invitation.tenant, user=user, role=invitation.role)
    invitation.accepted_by = user
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_by", "accepted_at"])
    return membership


def revoke_invitation(*, actor: Membership, invitation_id: int) -> None:
    check_admin(actor)
    updated = (
        Invitation.objects.for_tenant(actor.tenant)
        .filter(pk=invitation_id, accepted_at__isnull=True)
        .update(revoked_at=timezone.now())
    )
    if not updated:
        raise ServiceError(_("Invitation not found."), code="not_found")


def _owners_left_after(tenant: Tenant, excluding: Membership) -> int:
    return Membership.objects.for_tenant(tenant).filter(role=Role.OWNER).exclude(pk=excluding.pk).count()


@transaction.atomic
def change_role(*, actor: Membership, membership_id: int, role: str) -> Membership:
    check_admin(actor)
    if role not in Role.values:
        raise ServiceError(_("Unknown role."))
    target = locked_owned(Membership, _("Member not found."), tenant=actor.tenant, pk=membership_id)
    if Role.OWNER in (role, target.role) and actor.role != Role.OWNER:
        raise ServiceError(_("Only an owner can grant or take away the owner role."), code="forbidden")
    if target.role == Role.OWNER and role != Role.OWNER and _owners_left_after(actor.tenant, target) == 0:
        raise ServiceError(_("A team needs at least one owner."), code="last_owner")
    target.role = role
    target.save(update_fields=["role"])
    return target


@transaction.atomic
def remove_member(*, actor: Membership, membership_id: int) -> None:
    target = locked_owned(Membership, _("Member not found."), tenant=actor.tenant, pk=membership_id)
    if target.pk != actor.pk:  # anyone may leave; removing others needs admin
        check_admin(actor)
        if target.role == Role.OWNER and actor.role != Role.OWNER:
            raise ServiceError(_("Only an owner can remove an owner."), code="forbidden")
    if target.role == Role.OWNER and _owners_left_after(actor.tenant, target) == 0:
        raise ServiceError(_("A team needs at least one owner."), code="last_owner")
    target.delete()


# --- widgets --------------------------------------------------------------------------

_HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


def normalise_origins(raw: list[str] | str) -> list[str]:
    """'https://shop.example.com, http://localhost:8001' -> canonical scheme://host[:port] list."""
    items = raw.replace("\n", ",").split(",") if isinstance(raw, str) else raw
    origins: list[str] = []
    for item in items:
        item = item.strip().rstrip("/")
        if not item:
            continue
        parts = urlsplit(item)
        if parts.scheme not in {"http", "https"} or not parts.hostname or parts.path or parts.query:
            raise ServiceError(_("'%(origin)s' is not an origin like https://shop.example.com") % {"origin": item})
        origin = f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")
        if origin not in origins:
            origins.append(origin)
    return origins


def _validated_widget_fields(
    *, name: str, allowed_origins: list[str] | str, color: str, greeting: str, locale: str
) -> dict:
    name = name.strip()
    if not name:
        raise ServiceError(_("Give the widget a name."))
    if not _HEX_COLOUR.match(color):
        raise ServiceError(_("Colour must look like #2563eb."))
    if locale not in {"auto", "en", "zh-hans"}:
        raise ServiceError(_("Unsupported widget language."))
    return {
        "name": name[:120],
        "allowed_origins": normalise_origins(allowed_origins),
        "color": color,
        "greeting": greeting.strip()[:300],
        "locale": locale,
    }


def create_widget(
    *,
    actor: Membership,
    name: str,
    allowed_origins: list[str] | str = "",
    color: str = "#2563eb",
    greeting: str = "Hi! How can we help?",
    locale: str = "auto",
) -> tuple[Widget, str]:
    """Returns the widget and its identity secret, which is shown this once only."""
    check_admin(actor)
    fields = _validated_widget_fields(
        name=name, allowed_origins=allowed_origins, color=color, greeting=greeting, locale=locale
    )
    secret = new_token(32)
    widget = Widget.objects.create(
        tenant=actor.tenant, public_key=f"wk_{new_token(18)}", identity_secret=secret, **fields
    )
    return widget, secret


def update_widget(
    *,
    actor: Membership,
    widget_id: int,
    name: str,
    allowed_origins: list[str] | str,
    color: str,
    greeting: str,
    locale: str,
) -> Widget:
    check_admin(actor)
    widget = Widget.objects.for_tenant(actor.tenant).filter(pk=widget_id).first()
    if widget is None:
        raise ServiceError(_("Widget not found."), code="not_found")
    fields = _validated_widget_fields(
        name=name, allowed_origins=allowed_origins, color=color, greeting=greeting, locale=locale
    )
    for key, value in fields.items():
        setattr(widget, key, value)
    widget.save(update_fields=[*fields.keys()])
    return widget


def rotate_widget_secret(*, actor: Membership, widget_id: int) -> str:
    check_admin(actor)
    secret = new_token(32)
    if not Widget.objects.for_tenant(actor.tenant).filter(pk=widget_id).update(identity_secret=secret):
        raise ServiceError(_("Widget not found."), code="not_found")
    return secret


def delete_widget(*, actor: Membership, widget_id: int) -> None:
    check_admin(actor)
    delete_owned(Widget, _("Widget not found."), tenant=actor.tenant, pk=widget_id)


# --- API keys -------------------------------------------------------------------------

API_KEY_PREFIX = "kefu_"


def create_api_key(*, actor: Membership, name: str) -> tuple[ApiKey, str]:
    """Returns the key row and the raw key (shown once; only its hash is stored)."""
    check_admin(actor)
    if actor.user_id is None:  # a leaked key must not outlive its revocation through keys it minted
        raise ServiceError(_("An API key cannot create API keys; a person creates them in the portal."), code="forbidden")
    if not name.strip():
        raise ServiceError(_("Give the key a name."))
    for _attempt in range(5):
        prefix = get_random_string(10, "abcdefghijklmnopqrstuvwxyz0123456789")
        raw = f"{API_KEY_PREFIX}{prefix}_{new_token(24)}"
        try:
            with transaction.atomic():
                key = ApiKey.objects.create(
                    tenant=actor.tenant,
                    name=name.strip()[:120],
                    prefix=prefix,
                    key_hash=sha256_hex(raw),
                    created_by_id=actor.user_id,
                )
            return key, raw
        except IntegrityError:
            continue
    raise ServiceError(_("Could not create a key, try again."))


def revoke_api_key(*, actor: Membership, api_key_id: int) -> None:
    check_admin(actor)
    if (
        not ApiKey.objects.for_tenant(actor.tenant)
        .filter(pk=api_key_id, revoked_at__isnull=True)
        .update(revoked_at=timezone.now())
    ):
        raise ServiceError(_("API key not found."), code="not_found")


def authenticate_api_key(*, raw: str) -> ApiKey | None:
    from tenants.crypto import constant_time_equals

    if not raw.startswith(API_KEY_PREFIX):
        return None
    prefix = raw[len(API_KEY_PREFIX) :].split("_", 1)[0]
    # Cross-tenant by design: the key names its tenant.
    key = ApiKey.all_tenants.select_related("tenant").filter(prefix=prefix, revoked_at__isnull=True).first()
    if key is None or not constant_time_equals(key.key_hash, sha256_hex(raw)):
        return None
    ApiKey.all_tenants.filter(pk=key.pk).update(last_used_at=timezone.now())
    return key


def record_widget_connected(*, widget: Widget) -> None:
    """Stamp the widget's first hello from an allowed origin (onboarding: "widget installed").

    One conditional UPDATE: later hellos match no row and write nothing.
    """
    if widget.first_connected_at is not None:
        return
    now = timezone.now()
    Widget.objects.for_tenant(widget.tenant_id).filter(pk=widget.pk, first_connected_at__isnull=True).update(
        first_connected_at=now
    )
    widget.first_connected_at = now
