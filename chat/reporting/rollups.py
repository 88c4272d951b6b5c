"""Maintain ConversationFact and DailyRollup from ReportingEvents (Celery beat, every 5 min).

Incremental: conversations with events newer than the tenant's watermark (plus a look-back
for events committed late) and facts still waiting for the 24 h AI verification are
refolded; the local days they touch (before and after) are re-summed.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from chat.models import Conversation, ReportingEvent
from chat.reporting import bulk, histogram
from chat.reporting.compute import Ev, Fact, ai_candidate, fold, verify_ai
from chat.reporting.models import ConversationFact, DailyRollup, RollupState
from tenants.models import Tenant

CHUNK = 2000
LATE_COMMIT_LOOKBACK = dt.timedelta(minutes=15)
# Roll-up levels: widget_id 0 = all widgets, agent_id -1 = all agents (0 = no agent).
ALL_WIDGETS = 0
ALL_AGENTS = -1


def tenant_zone(tenant: Tenant) -> ZoneInfo:
    try:
        return ZoneInfo(tenant.timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):  # an unknown zone must not stop the dashboards
        return ZoneInfo("UTC")


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for i in range(0, len(ids), CHUNK):
        yield ids[i : i + CHUNK]


def _fold_chunk(tenant: Tenant, conv_ids: list[int], now: dt.datetime, zone: ZoneInfo) -> list[ConversationFact]:
    evs: dict[int, list[Ev]] = defaultdict(list)
    rows = (
        ReportingEvent.objects.for_tenant(tenant)
        .filter(conversation_id__in=conv_ids)
        .values_list("id", "conversation_id", "kind", "at", "agent_id", "reason", "value", "data")
    )
    widgets: dict[int, int] = {}
    for eid, cid, kind, at, agent_id, reason, value, data in rows.iterator(chunk_size=5000):
        evs[cid].append(Ev(eid, kind, at, agent_id, reason, value, data or {}))
    convs = {
        c[0]: c
        for c in Conversation.objects.for_tenant(tenant)
        .filter(pk__in=conv_ids)
        .values_list("id", "created_at", "widget_id")
    }
    facts: dict[int, Fact] = {}
    for cid in conv_ids:
        if cid not in convs:
            continue
        _id, created_at, widget_id = convs[cid]
        widgets[cid] = widget_id
        facts[cid] = fold(evs.get(cid, []), created_at=created_at)
    # 24 h verification of AI resolutions, event-sourced: the conversation's own
    # visitor_message events are in its fact; new conversations of the same contact come
    # from their conversation_created events (data.contact_id).
    cands = {cid: f for cid, f in facts.items() if ai_candidate(f) and not f.confirmed}
    after: dict[int, list[dt.datetime]] = defaultdict(list)
    by_contact: dict[int, list[int]] = defaultdict(list)
    for cid, f in cands.items():
        if f.contact_id is not None:
            by_contact[f.contact_id].append(cid)
    if by_contact:
        earliest = min(cands[cid].last_resolved_at for ids in by_contact.values() for cid in ids)  # type: ignore[type-var]
        for contact_id, created_at in (
            ReportingEvent.objects.for_tenant(tenant)
            .filter(kind="conversation_created", at__gt=earliest, data__contact_id__in=list(by_contact))
            .exclude(conversation_id__in=list(cands))
            .values_list("data__contact_id", "at")
        ):
            for cid in by_contact.get(int(contact_id), []):
                after[cid].append(created_at)
    out = []
    for cid, f in facts.items():
        verify_ai(f, now=now, visitor_after=after.get(cid, []))
        out.append(
            ConversationFact(
                tenant_id=tenant.pk,
                conversation_id=cid,
                widget_id=widgets[cid],
                agent_id=f.agent_id,
                started_at=f.started_at,
                day=f.started_at.astimezone(zone).date(),
                bot_involved=f.bot_involved,
                handed_off=f.handed_off,
                handoff_reason=f.handoff_reason,
                resolved=f.resolved,
                reopened=f.reopened,
                ai_resolved=f.ai_resolved,
                ai_pending=f.ai_pending,
                frt_values=f.frt_values,
                resolution_values=f.resolution_values,
                human_replied=f.human_replied,
                csat_surveyed=f.csat_surveyed,
                csat_rating=f.csat_rating,
                sentiment=f.sentiment,
                intent=f.intent,
                knowledge_gap=f.knowledge_gap,
                last_event_id=f.last_event_id,
            )
        )
    return out


def _add(g: dict[str, Any], f: dict[str, Any]) -> None:
    g["conversations"] += 1
    if f["bot_involved"]:
        g["bot_involved"] += 1
        if f["handed_off"]:
            g["handed_off"] += 1
            g["handoff_reasons"][f["handoff_reason"] or "unknown"] += 1
    for flag in ("ai_resolved", "ai_pending", "human_replied", "resolved", "reopened", "csat_surveyed"):
        if f[flag]:
            g[flag] += 1
    if f["csat_rating"] is not None:
        g["csat_answered"] += 1
        g["csat_ratings"][str(f["csat_rating"])] += 1
        if f["csat_rating"] >= 4:
            g["csat_positive"] += 1
    if f["knowledge_gap"]:
        g["knowledge_gaps"] += 1
        g["gap_intents"][f["intent"] or ""] += 1
    g["frt_values"].extend(f["frt_values"] or [])
    g["resolution_values"].extend(f["resolution_values"] or [])
    if f["sentiment"]:
        g["sentiments"][f["sentiment"]] += 1
    if f["intent"]:
        g["intents"][f["intent"]] += 1


def _sum_days(tenant: Tenant, days: set[dt.date]) -> int:
    """Re-sum DailyRollup rows of `days` from the facts."""
    if not days:
        return 0
    groups: dict[tuple[dt.date, int, int], dict[str, Any]] = {}
    counters = ("handoff_reasons", "sentiments", "intents", "gap_intents", "csat_ratings")
    day_list = sorted(days)
    for part in range(0, len(day_list), 400):
        qs = ConversationFact.objects.for_tenant(tenant).filter(day__in=day_list[part : part + 400])
        for f in qs.values(
            "day", "widget_id", "agent_id", "bot_involved", "handed_off", "handoff_reason", "ai_resolved",
            "ai_pending", "human_replied", "resolved", "reopened", "csat_surveyed", "csat_rating", "knowledge_gap",
            "frt_values", "resolution_values", "sentiment", "intent",
        ).iterator(chunk_size=5000):
            # Three levels: (day, widget, agent), (day, widget, ALL_AGENTS), (day, ALL_WIDGETS, ALL_AGENTS).
            for key in (
                (f["day"], f["widget_id"], f["agent_id"] or 0),
                (f["day"], f["widget_id"], ALL_AGENTS),
                (f["day"], ALL_WIDGETS, ALL_AGENTS),
            ):
                g = groups.get(key)
                if g is None:
                    g = groups[key] = {
                        "conversations": 0, "bot_involved": 0, "handed_off": 0, "ai_resolved": 0, "ai_pending": 0,
                        "human_replied": 0, "resolved": 0, "reopened": 0, "csat_surveyed": 0, "csat_answered": 0,
                        "csat_positive": 0, "knowledge_gaps": 0, "frt_values": [], "resolution_values": [],
                        **{c: Counter() for c in counters},
                    }
                _add(g, f)
    rows = []
    for (day, widget_id, agent_id), g in groups.items():
        for c in counters:
            g[c] = dict(g[c])
        g["frt_values"] = sorted(round(v, 1) for v in g["frt_values"])
        g["resolution_values"] = sorted(round(v, 1) for v in g["resolution_values"])
        g["frt_hist"] = histogram.from_values(g["frt_values"])
        g["resolution_hist"] = histogram.from_values(g["resolution_values"])
        rows.append(DailyRollup(tenant_id=tenant.pk, day=day, widget_id=widget_id, agent_id=agent_id, **g))
    with transaction.atomic():
        DailyRollup.objects.for_tenant(tenant).filter(day__in=day_list).delete()
        bulk.insert(DailyRollup, rows)
    return len(rows)


def refresh_tenant(*, tenant: Tenant, now: dt.datetime | None = None, rebuild: bool = False) -> dict[str, int]:
    """Bring one tenant's facts and roll-ups up to date with its events."""
    now = now or timezone.now()
    zone = tenant_zone(tenant)
    state, _ = RollupState.objects.for_tenant(tenant).get_or_create(tenant=tenant)
    events = ReportingEvent.objects.for_tenant(tenant)
    top = events.aggregate(m=Max("id"))["m"] or 0
    if rebuild:
        conv_ids = set(events.values_list("conversation_id", flat=True).distinct())
        old_days = set(ConversationFact.objects.for_tenant(tenant).values_list("day", flat=True).distinct())
        ConversationFact.objects.for_tenant(tenant).delete()
    else:
        since = (state.refreshed_at or now) - LATE_COMMIT_LOOKBACK
        conv_ids = set(
            events.filter(id__gt=state.last_event_id, id__lte=top).values_list("conversation_id", flat=True).distinct()
        )
        if state.refreshed_at is not None:
            conv_ids |= set(events.filter(at__gte=since, id__lte=top).values_list("conversation_id", flat=True))
        conv_ids |= set(
            ConversationFact.objects.for_tenant(tenant).filter(ai_pending=True).values_list("conversation_id", flat=True)
        )
        old_days = set()
    days: set[dt.date] = set(old_days)
    ids = sorted(conv_ids)
    for chunk in _chunks(ids):
        facts = _fold_chunk(tenant, chunk, now, zone)
        existing = ConversationFact.objects.for_tenant(tenant).filter(conversation_id__in=chunk)
        days |= set(existing.values_list("day", flat=True))
        days |= {f.day for f in facts}
        with transaction.atomic():
            existing.delete()
            bulk.insert(ConversationFact, facts)
    rollups = _sum_days(tenant, days)
    RollupState.objects.for_tenant(tenant).filter(pk=state.pk).update(last_event_id=top, refreshed_at=now)
    return {"conversations": len(ids), "days": len(days), "rollups": rollups}


def refresh_all(*, now: dt.datetime | None = None) -> int:
    """Every tenant with events (cross-tenant by design: the beat scheduler)."""
    tenant_ids = set(ReportingEvent.all_tenants.values_list("tenant_id", flat=True).distinct())
    done = 0
    for tenant in Tenant.objects.filter(pk__in=tenant_ids).order_by("pk"):
        refresh_tenant(tenant=tenant, now=now)
        done += 1
    return done
