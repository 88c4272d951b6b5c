"""Reads for dashboards: figures from DailyRollup, drill-downs from ConversationFact.

Every count shown is a number of conversations, and `drilldown()` with the same filters
and metric returns exactly those conversations (both come from the same facts).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db.models import Q, QuerySet
from django.utils import timezone

from chat.reporting import histogram
from chat.reporting.compute import percentile
from chat.reporting.models import ConversationFact, DailyRollup, RollupState
from chat.reporting.rollups import ALL_AGENTS, ALL_WIDGETS, tenant_zone
from tenants.models import Tenant

MAX_DAYS = 731


@dataclass(frozen=True)
class Filters:
    start: dt.date
    end: dt.date  # inclusive
    widget_id: int | None = None
    agent_id: int | None = None  # 0: conversations with no agent
    group: str = "day"  # or "week"

    def as_query(self) -> dict[str, str]:
        q = {"from": self.start.isoformat(), "to": self.end.isoformat(), "group": self.group}
        if self.widget_id is not None:
            q["widget"] = str(self.widget_id)
        if self.agent_id is not None:
            q["agent"] = str(self.agent_id)
        return q


# Days a filter may name: beyond these, date arithmetic overflows (year 1, year 9999).
EARLIEST_DAY = dt.date(2000, 1, 1)
LATEST_DAY = dt.date(2100, 12, 31)
_BIGINT = 2**63 - 1


def _int(raw: Any) -> int | None:
    try:
        value = int(raw) if raw not in (None, "") else None
    except (TypeError, ValueError):
        return None
    return value if value is None or -_BIGINT <= value <= _BIGINT else None


def _date(raw: Any) -> dt.date | None:
    try:
        day = dt.date.fromisoformat(str(raw)) if raw else None
    except ValueError:
        return None
    return day if day is None or EARLIEST_DAY <= day <= LATEST_DAY else None


def parse_filters(*, tenant: Tenant, params: Any, today: dt.date | None = None) -> Filters:
    """Filters from query parameters; dates are local days in the tenant's time zone."""
    today = today or timezone.now().astimezone(tenant_zone(tenant)).date()
    end = _date(params.get("to")) or today
    start = _date(params.get("from")) or end - dt.timedelta(days=min(max(_int(params.get("days")) or 30, 1), MAX_DAYS) - 1)
    if start > end:
        start, end = end, start
    if (end - start).days >= MAX_DAYS:
        start = end - dt.timedelta(days=MAX_DAYS - 1)
    group = "week" if params.get("group") == "week" else "day"
    return Filters(start=start, end=end, widget_id=_int(params.get("widget")), agent_id=_int(params.get("agent")), group=group)


def _rollup_rows(qs: QuerySet, f: Filters) -> QuerySet:
    """Pick the coarsest roll-up level that answers the filters."""
    qs = qs.filter(day__gte=f.start, day__lte=f.end)
    if f.agent_id is None:
        return qs.filter(widget_id=f.widget_id if f.widget_id is not None else ALL_WIDGETS, agent_id=ALL_AGENTS)
    qs = qs.filter(agent_id=f.agent_id).exclude(widget_id=ALL_WIDGETS)
    return qs.filter(widget_id=f.widget_id) if f.widget_id is not None else qs


def _scoped(qs: QuerySet, f: Filters) -> QuerySet:
    qs = qs.filter(day__gte=f.start, day__lte=f.end)
    if f.widget_id is not None:
        qs = qs.filter(widget_id=f.widget_id)
    if f.agent_id is not None:
        qs = qs.filter(agent_id=f.agent_id) if f.agent_id else qs.filter(Q(agent_id__isnull=True) | Q(agent_id=0))
    return qs


def _bucket(day: dt.date, group: str) -> dt.date:
    return day - dt.timedelta(days=day.weekday()) if group == "week" else day


def _rate(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def _pct(values: list[float]) -> dict[str, float | None]:
    med, p90 = percentile(values, 0.5), percentile(values, 0.9)
    return {"median": None if med is None else round(med, 1), "p90": None if p90 is None else round(p90, 1)}


COUNTS = (
    "conversations", "bot_involved", "handed_off", "ai_resolved", "ai_pending", "human_replied", "resolved",
    "reopened", "csat_surveyed", "csat_answered", "csat_positive", "knowledge_gaps",
)
MAPS = ("handoff_reasons", "sentiments", "intents", "gap_intents", "csat_ratings")

HISTOGRAM_EDGES = histogram.DISPLAY_EDGES
# Up to this many response + resolution times in the range, percentiles come from the values
# themselves (exact); above, from the roll-ups' histogram buckets, within one bucket of exact,
# so a year of history does not decode every value.
EXACT_LIMIT = 5000
PERCENTILE_PRECISION = f"within one bucket: 1 s below {histogram.LINEAR_UNTIL} s, else {histogram.RELATIVE_WIDTH:.0%} (+1 s)"


def _periods(filters: Filters) -> list[dt.date]:
    out = []
    day = _bucket(filters.start, filters.group)
    step = dt.timedelta(days=7 if filters.group == "week" else 1)
    while day <= filters.end:
        out.append(day)
        day += step
    return out


@dataclass
class _Sums:
    """Counts per period and in total; response/resolution histograms per period."""

    periods: list[dt.date]
    totals: dict[str, int]
    by_period: list[dict[str, Any]]
    maps: dict[str, Counter]
    frt: np.ndarray  # periods x buckets
    res: np.ndarray


def _sum_rows(rows: QuerySet, filters: Filters) -> _Sums:
    periods = _periods(filters)
    index = {d: i for i, d in enumerate(periods)}
    tot: dict[str, int] = {c: 0 for c in COUNTS}
    by_period: list[dict[str, Any]] = [{**{c: 0 for c in COUNTS}, "sent": Counter()} for _ in periods]
    maps: dict[str, Counter] = {m: Counter() for m in MAPS}
    frt, res = histogram.Accumulator(), histogram.Accumulator()
    for r in rows.values("day", *COUNTS, *MAPS, "frt_hist", "resolution_hist"):
        i = index[_bucket(r["day"], filters.group)]
        b = by_period[i]
        for c in COUNTS:
            tot[c] += r[c]
            b[c] += r[c]
        for m in MAPS:
            maps[m].update(r[m] or {})
        b["sent"].update(r["sentiments"] or {})
        frt.add(i, r["frt_hist"])
        res.add(i, r["resolution_hist"])
    return _Sums(periods, tot, by_period, maps, frt.matrix(len(periods)), res.matrix(len(periods)))


def _exact_times(rows: QuerySet, sums: _Sums, filters: Filters) -> tuple[list[list[float]], list[list[float]]]:
    index = {d: i for i, d in enumerate(sums.periods)}
    frt: list[list[float]] = [[] for _ in sums.periods]
    res: list[list[float]] = [[] for _ in sums.periods]
    for r in rows.values("day", "frt_values", "resolution_values"):
        i = index[_bucket(r["day"], filters.group)]
        frt[i].extend(r["frt_values"] or [])
        res[i].extend(r["resolution_values"] or [])
    return frt, res


def _bucket_pcts(m: np.ndarray) -> list[dict[str, float | None]]:
    med, p90 = histogram.percentiles(m, 0.5), histogram.percentiles(m, 0.9)
    return [
        {"median": None if a is None else round(a, 1), "p90": None if b is None else round(b, 1)}
        for a, b in zip(med, p90, strict=True)
    ]


def _times(rows: QuerySet, sums: _Sums, filters: Filters, *, exact: bool) -> tuple[dict, dict, list, list]:
    """Percentiles of response and resolution times: (frt total, res total, frt per period, res per period)."""
    if exact:
        frt, res = _exact_times(rows, sums, filters)
        return (
            _pct([v for vs in frt for v in vs]), _pct([v for vs in res for v in vs]),
            [_pct(vs) for vs in frt], [_pct(vs) for vs in res],
        )
    return (
        _bucket_pcts(sums.frt.sum(axis=0, keepdims=True))[0], _bucket_pcts(sums.res.sum(axis=0, keepdims=True))[0],
        _bucket_pcts(sums.frt), _bucket_pcts(sums.res),
    )


def _series(sums: _Sums, frt: list[dict], res: list[dict]) -> list[dict[str, Any]]:
    return [
        {
            "period": day.isoformat(),
            "conversations": b["conversations"],
            "bot_involved": b["bot_involved"],
            "ai_resolved": b["ai_resolved"],
            "handed_off": b["handed_off"],
            "resolved": b["resolved"],
            "csat_answered": b["csat_answered"],
            "ai_resolution_rate": _rate(b["ai_resolved"], b["bot_involved"]),
            "handoff_rate": _rate(b["handed_off"], b["bot_involved"]),
            "csat_score": _rate(b["csat_positive"], b["csat_answered"]),
            "first_response": frt[i],
            "resolution": res[i],
            "sentiments": {s: b["sent"].get(s, 0) for s in ("positive", "neutral", "negative")},
        }
        for i, (day, b) in enumerate(zip(sums.periods, sums.by_period, strict=True))
    ]


def dashboard(*, tenant: Tenant, filters: Filters) -> dict[str, Any]:
    rows = _rollup_rows(DailyRollup.objects.for_tenant(tenant), filters)
    sums = _sum_rows(rows, filters)
    tot, maps = sums.totals, sums.maps
    frt_n, res_n = int(sums.frt.sum()), int(sums.res.sum())
    # Counts are exact either way; only percentiles may come from buckets.
    exact = frt_n + res_n <= EXACT_LIMIT
    frt, res, frt_by_period, res_by_period = _times(rows, sums, filters, exact=exact)
    state = RollupState.objects.for_tenant(tenant).first()
    return {
        "filters": {**filters.as_query(), "timezone": str(tenant_zone(tenant))},
        "refreshed_at": state.refreshed_at.isoformat() if state and state.refreshed_at else None,
        "totals": {
            **tot,
            "ai_resolution_rate": _rate(tot["ai_resolved"], tot["bot_involved"]),
            "handoff_rate": _rate(tot["handed_off"], tot["bot_involved"]),
            "bot_involvement_rate": _rate(tot["bot_involved"], tot["conversations"]),
            "csat_score": _rate(tot["csat_positive"], tot["csat_answered"]),
            "csat_response_rate": _rate(tot["csat_answered"], tot["csat_surveyed"]),
            "reopen_rate": _rate(tot["reopened"], tot["resolved"]),
        },
        "first_response": {**frt, "cycles": frt_n, "conversations": tot["human_replied"]},
        "resolution": {**res, "cycles": res_n, "conversations": tot["resolved"]},
        "percentiles": {"exact": exact, "exact_up_to": EXACT_LIMIT, "precision": "exact" if exact else PERCENTILE_PRECISION},
        "histograms": {
            "edges": HISTOGRAM_EDGES,
            "first_response": histogram.display_counts(sums.frt.sum(axis=0)),
            "resolution": histogram.display_counts(sums.res.sum(axis=0)),
        },
        "handoff_reasons": _ranked(maps["handoff_reasons"], tot["bot_involved"]),
        "sentiments": {s: maps["sentiments"].get(s, 0) for s in ("positive", "neutral", "negative")},
        "top_intents": _ranked(maps["intents"], tot["conversations"])[:10],
        "knowledge_gaps": _ranked(maps["gap_intents"], tot["knowledge_gaps"])[:10],
        "csat_ratings": {str(i): maps["csat_ratings"].get(str(i), 0) for i in range(1, 6)},
        "series": _series(sums, frt_by_period, res_by_period),
    }


def _ranked(counter: Counter, den: int) -> list[dict[str, Any]]:
    return [{"key": k, "count": n, "share": _rate(n, den)} for k, n in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))]


# metric name -> predicate on ConversationFact (the drill-down behind each number)
METRICS: dict[str, Q] = {
    "conversations": Q(),
    "bot_involved": Q(bot_involved=True),
    "ai_resolved": Q(ai_resolved=True),
    "ai_pending": Q(ai_pending=True),
    "handed_off": Q(bot_involved=True, handed_off=True),
    "human_replied": Q(human_replied=True),
    "resolved": Q(resolved=True),
    "reopened": Q(reopened=True),
    "csat_surveyed": Q(csat_surveyed=True),
    "csat_answered": Q(csat_rating__isnull=False),
    "csat_positive": Q(csat_rating__gte=4),
    "knowledge_gaps": Q(knowledge_gap=True),
}
SENTIMENT_KEYS = ("positive", "neutral", "negative")


def drilldown(
    *, tenant: Tenant, filters: Filters, metric: str, key: str | None = None, period: dt.date | None = None
) -> QuerySet:
    """Facts behind one number: `metric` (see METRICS, or handoff_reason / sentiment /
    intent / gap_intent / csat_rating with `key`), optionally one series period."""
    qs = _scoped(ConversationFact.objects.for_tenant(tenant), filters)
    if period is not None:
        span = 7 if filters.group == "week" else 1
        qs = qs.filter(day__gte=period, day__lt=period + dt.timedelta(days=span))
    if metric in METRICS:
        qs = qs.filter(METRICS[metric])
    elif metric == "handoff_reason":
        reason = Q(handoff_reason__isnull=True) if key in (None, "", "unknown") else Q(handoff_reason=key)
        qs = qs.filter(reason, bot_involved=True, handed_off=True)
    elif metric == "sentiment":
        qs = qs.filter(sentiment=key)
    elif metric == "intent":
        qs = qs.filter(intent=key)
    elif metric == "gap_intent":
        qs = qs.filter(knowledge_gap=True).filter(Q(intent=key) if key else Q(intent__isnull=True) | Q(intent=""))
    elif metric == "csat_rating":
        qs = qs.filter(csat_rating=_int(key) or 0)
    else:
        return qs.none()
    return qs.order_by("-started_at", "-conversation_id")
