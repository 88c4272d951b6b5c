"""The bases for WebSocket consumers (DESIGN.md, "Tenancy", layer 3).

- `TenantMemberConsumer`: portal sockets (the inbox). Resolves the logged-in user's
  membership from the URL's tenant slug and checks the Origin is the portal's own.
- `WidgetConsumerBase`: visitor sockets. Resolves the widget (and so the tenant) from its
  public key and refuses an Origin that is not on the widget's allowed list.
Both do it in `connect()`, which subclasses may not override; they implement
`on_connect()` instead. A refused socket is closed with 4403 / 4404 before accept.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from tenants import selectors
from tenants.models import Membership, Tenant, Widget

CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404


def header(scope: dict[str, Any], name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return ""


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    if not parts.scheme or not parts.hostname:
        return ""
    return f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")


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

    async def connect(self) -> None:
        origin = header(self.scope, b"origin")
        host = header(self.scope, b"host")
        if origin and _origin_of(origin) not in {
            _origin_of(f"http://{host}"),
            _origin_of(f"https://{host}"),
            _origin_of(settings.PUBLIC_BASE_URL),
        }:
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
        await self.on_connect()


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
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.widget = widget
        self.tenant = widget.tenant
        await self.on_connect()
