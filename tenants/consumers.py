"""The bases for WebSocket consumers (DESIGN.md, "Tenancy", layer 3).

- `TenantMemberConsumer`: portal sockets (the inbox). Resolves the logged-in user's
  membership from the URL's tenant slug and checks the Origin is the portal's own.
- `WidgetConsumerBase`: visitor sockets. Resolves the widget (and so the tenant) from its
  public key and refuses an Origin that is not on the widget's allowed list.
Both do it in `connect()`, which subclasses may not override; they implement
`on_connect()` instead. A refused socket is closed with 4403 / 4404 before accept; an
Origin or Host that does not parse (a bad port) is refused like a foreign one.

A member's socket stays open only while the member keeps the access it connected with:
the role, the password and the account's active flag are re-read on every inbound frame
(`access_still_granted`), at least every KEFU_MEMBER_RECHECK_S while events flow to it
(`access_fresh`), and at once when tenants.signals reports a change to that user's
membership or account (group `member_group(user_id)`); a change closes it with 4403.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from tenants import selectors
from tenants.models import Membership, Tenant, Widget
from tenants.origins import arecord_refused_origin

CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404


def header(scope: dict[str, Any], name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return ""


def member_group(user_id: int) -> str:
    """Channel-layer group of every portal socket a user has open (any tenant)."""
    return f"kefu.member.{int(user_id)}"


def _origin_of(url: str) -> str:
    """scheme://host[:port], or "" when it does not parse (e.g. a port that is not a number)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return ""
    if not parts.scheme or not parts.hostname:
        return ""
    return f"{parts.scheme}://{parts.hostname}" + (f":{port}" if port else "")


class _SealedConnect(AsyncJsonWebsocketConsumer):
    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "connect" in cls.__dict__ and not cls.__dict__.get("_is_base", False):
            raise TypeError(f"{cls.__name__} may not override connect(): implement on_connect()")

    async def on_connect(self) -> None:
        await self.accept()


class TenantMemberConsumer(_SealedConnect):
    _is_base = True
    tenant: Tenant
    membership: Membership
    access_revoked: bool = False
    _access: tuple[Any, ...] | None = None
    _access_checked_at: float = 0.0
    _member_group: str = ""

    async def connect(self) -> None:
        origin = header(self.scope, b"origin")
        host = header(self.scope, b"host")
        allowed = {_origin_of(f"http://{host}"), _origin_of(f"https://{host}"), _origin_of(settings.PUBLIC_BASE_URL)}
        if origin and _origin_of(origin) not in allowed - {""}:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        slug = self.scope["url_route"]["kwargs"]["tenant_slug"]
        membership = await database_sync_to_async(selectors.membership_for)(
            user=self.scope.get("user"), tenant_slug=slug
        )
        if membership is None:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        self.membership = membership
        self.tenant = membership.tenant
        self._access = selectors.member_access(membership)
        self._access_checked_at = time.monotonic()
        self._member_group = member_group(membership.user_id)
        await self.channel_layer.group_add(self._member_group, self.channel_name)
        await self.on_connect()

    async def disconnect(self, code: int) -> None:
        if self._member_group:
            await self.channel_layer.group_discard(self._member_group, self.channel_name)

    async def read_access(self) -> tuple[Any, ...] | None:
        """The member's current access; subclasses may run it on their own database threads."""
        return await database_sync_to_async(selectors.current_member_access)(membership_id=self.membership.pk)

    async def access_still_granted(self) -> bool:
        """Re-read the membership; on any change (removed, role, password, deactivated) close 4403."""
        if self.access_revoked:
            return False
        current = await self.read_access()
        self._access_checked_at = time.monotonic()
        if current is None or current != self._access:
            self.access_revoked = True
            await self.close(code=CLOSE_FORBIDDEN)
            return False
        return True

    async def access_fresh(self) -> bool:
        """For outbound events: re-read at most every KEFU_MEMBER_RECHECK_S."""
        if self.access_revoked:
            return False
        if time.monotonic() - self._access_checked_at < settings.KEFU_MEMBER_RECHECK_S:
            return True
        return await self.access_still_granted()

    async def member_access_changed(self, event: dict[str, Any]) -> None:
        """Group event from tenants.signals: this user's membership or account changed."""
        await self.access_still_granted()


class WidgetConsumerBase(_SealedConnect):
    _is_base = True
    tenant: Tenant
    widget: Widget

    async def connect(self) -> None:
        public_key = self.scope["url_route"]["kwargs"]["public_key"]
        widget = await database_sync_to_async(selectors.widget_by_public_key)(public_key=public_key)
        if widget is None:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        origin = _origin_of(header(self.scope, b"origin"))
        if origin not in widget.allowed_origins:
            # The portal shows the site owner the last refused origin (throttled note).
            await arecord_refused_origin(widget_id=widget.pk, origin=origin or header(self.scope, b"origin"))
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.widget = widget
        self.tenant = widget.tenant
        await self.on_connect()
