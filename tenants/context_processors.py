from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from tenants import selectors

# (section, label, url name). A section appears once its app defines the route.
NAV = [
    ("inbox", _("Inbox"), "chat:inbox"),
    ("knowledge", _("Knowledge"), "ml:knowledge"),
    ("ai", _("AI"), "ml:ai"),
    ("dashboards", _("Dashboards"), "reporting:dashboard"),
    ("settings", _("Settings"), "tenants:settings"),
    ("members", _("Members"), "tenants:members"),
    ("outbox", _("Outbox"), "mail:outbox"),
]


def portal(request: HttpRequest) -> dict[str, Any]:
    tenant = getattr(request, "tenant", None)
    if tenant is None:
        return {}
    nav = []
    for section, label, name in NAV:
        try:
            nav.append({"section": section, "label": label, "url": reverse(name, args=[tenant.slug])})
        except NoReverseMatch:
            continue
    return {"portal_nav": nav, "my_memberships": list(selectors.memberships_for_user(user=request.user))}
