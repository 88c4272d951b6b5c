"""Refused widget origins (issue 13 #6): a site whose origin is not on a widget's allowed
list is told so (the widget shows "chat unavailable" instead of reconnecting forever),
and the portal's widget settings show the last refused origin so the owner can add it.

Kept in the cache (Redis in a deployment, shared by every process), written at most once
per KEFU_REFUSED_ORIGIN_THROTTLE_S per widget: a page reloading in a loop costs nothing.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from tenants import selectors
from tenants.models import Widget

_MAX_ORIGIN_CHARS = 200


def _key(widget_id: int) -> str:
    return f"kefu:widget:{widget_id}:refused-origin"


def _value(origin: str) -> dict[str, str]:
    return {"origin": origin[:_MAX_ORIGIN_CHARS] or "(none)", "at": timezone.now().isoformat()}


def record_refused_origin(*, widget_id: int, origin: str) -> None:
    throttle = settings.KEFU_REFUSED_ORIGIN_THROTTLE_S
    if cache.add(_key(widget_id) + ":throttle", 1, timeout=throttle):
        cache.set(_key(widget_id), _value(origin), timeout=None)


async def arecord_refused_origin(*, widget_id: int, origin: str) -> None:
    """For the widget socket's connect (async); a cache that is down loses only the note."""
    try:
        if await cache.aadd(_key(widget_id) + ":throttle", 1, timeout=settings.KEFU_REFUSED_ORIGIN_THROTTLE_S):
            await cache.aset(_key(widget_id), _value(origin), timeout=None)
    except Exception:  # noqa: BLE001 - a note for the portal, never a reason to fail the refusal
        return


def last_refused_origins(*, widgets: Any) -> dict[int, dict[str, str]]:
    """{widget id: {"origin", "at"}} for widgets that refused a site."""
    ids = [w.pk for w in widgets]
    found = cache.get_many([_key(i) for i in ids]) if ids else {}
    return {i: found[_key(i)] for i in ids if _key(i) in found}


def origin_allowed(*, widget: Widget, origin: str) -> bool:
    return origin in widget.allowed_origins


@require_GET
def origin_check(request: HttpRequest, public_key: str) -> JsonResponse:
    """The widget asks after its socket was refused (a refused WebSocket handshake shows
    the page no close code): is this page's origin allowed? Readable from any origin (it
    only answers about the caller's own Origin, which the browser sets)."""
    from tenants.consumers import _origin_of

    widget = selectors.widget_by_public_key(public_key=public_key)
    origin = _origin_of(request.headers.get("Origin", ""))
    if widget is None:
        response = JsonResponse({"allowed": False, "reason": "unknown_widget"}, status=404)
    elif origin_allowed(widget=widget, origin=origin):
        response = JsonResponse({"allowed": True})
    else:
        record_refused_origin(widget_id=widget.pk, origin=origin or request.headers.get("Origin", ""))
        response = JsonResponse({"allowed": False, "reason": "origin_not_allowed"})
    response["Access-Control-Allow-Origin"] = "*"
    response["Cache-Control"] = "no-store"
    return response
