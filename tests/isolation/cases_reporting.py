"""Isolation cases for the dashboards (chat.reporting): each team gets a conversation with
a tenant-specific intent; the other tenant's dashboards must never show it."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from chat.reporting import rollups
from tests.isolation.cases import Case
from tests.reporting.helpers import History, widget


def _history(team):
    tenant = team.tenant
    h = History(tenant, widget(tenant, name=f"Reporting widget {tenant.slug}"))
    now = timezone.now()
    conv = h.conversation(now - dt.timedelta(hours=2))
    intent = f"secret_intent_{tenant.slug}"
    h.bot(conv, now - dt.timedelta(hours=2) + dt.timedelta(seconds=5), intent)
    h.ev(conv, "handoff", now - dt.timedelta(hours=1), reason="no_answer")
    rollups.refresh_tenant(tenant=tenant)
    return {}, [intent]


def _page(team):
    kwargs, markers = _history(team)
    return kwargs, markers


CASES = {
    "reporting:dashboard": Case(setup=_page, methods=("GET",)),
    "reporting:conversations": Case(setup=_page, methods=("GET",)),
    "reporting:export": Case(setup=_page, methods=("GET",)),
    "reporting-dashboard": Case(setup=_history),
    "reporting-conversations": Case(setup=_history),
}
