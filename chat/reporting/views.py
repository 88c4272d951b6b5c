"""Portal pages: the dashboard, the drill-down list behind each number, CSV exports."""

from __future__ import annotations

import csv
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from chat.reporting import selectors
from chat.reporting.rollups import tenant_zone
from chat.reporting.selectors import METRICS, Filters
from ml.api import HANDOFF_REASON_LABELS
from tenants.models import Membership, Widget
from tenants.portal import TenantPortalView

# Every ml.api.HandoffReason plus "unknown" (a handoff whose reason was not recorded).
REASON_LABELS: dict[str, Any] = {**HANDOFF_REASON_LABELS, "unknown": _("Unknown")}
METRIC_LABELS = {
    "conversations": _("Conversations"),
    "bot_involved": _("Bot-involved conversations"),
    "ai_resolved": _("Resolved by AI (verified)"),
    "ai_pending": _("AI resolutions awaiting 24 h verification"),
    "handed_off": _("Handed off to a person"),
    "human_replied": _("Conversations with a first human response"),
    "resolved": _("Resolved conversations"),
    "reopened": _("Reopened conversations"),
    "csat_surveyed": _("Conversations surveyed for CSAT"),
    "csat_answered": _("Conversations with a CSAT answer"),
    "csat_positive": _("Satisfied (4–5)"),
    "knowledge_gaps": _("Knowledge gaps"),
    "handoff_reason": _("Handed off, reason"),
    "sentiment": _("Sentiment"),
    "intent": _("Intent"),
    "gap_intent": _("Knowledge gap, intent"),
    "csat_rating": _("CSAT rating"),
}


class _ReportingView(TenantPortalView):
    nav_section = "dashboards"

    def filters(self) -> Filters:
        return selectors.parse_filters(tenant=self.tenant, params=self.request.GET)

    def drill_url(self, f: Filters, metric: str, key: str | None = None, period: str | None = None) -> str:
        q = {**f.as_query(), "metric": metric}
        if key is not None:
            q["key"] = key
        if period is not None:
            q["period"] = period
        return reverse("reporting:conversations", args=[self.tenant.slug]) + "?" + urlencode(q)


def _fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60:02d}m"
    return f"{s // 86400}d {s % 86400 // 3600}h"


def _fmt_rate(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


class DashboardView(_ReportingView):
    template_name = "reporting/dashboard.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        ctx = super().get_context_data(**kwargs)
        f = self.filters()
        data = selectors.dashboard(tenant=self.tenant, filters=f)
        links = {m: self.drill_url(f, m) for m in METRICS}
        for item in data["handoff_reasons"]:
            item["url"] = self.drill_url(f, "handoff_reason", item["key"])
            item["label"] = str(REASON_LABELS.get(item["key"], item["key"]))
        for item in data["top_intents"]:
            item["url"] = self.drill_url(f, "intent", item["key"])
        for item in data["knowledge_gaps"]:
            item["url"] = self.drill_url(f, "gap_intent", item["key"])
        for point in data["series"]:
            point["url"] = self.drill_url(f, "conversations", period=point["period"])
        sentiments = [
            {"key": k, "count": n, "url": self.drill_url(f, "sentiment", k)} for k, n in data["sentiments"].items()
        ]
        ratings = [{"key": k, "count": n, "url": self.drill_url(f, "csat_rating", k)} for k, n in data["csat_ratings"].items()]
        t = data["totals"]
        ctx.update(
            data=data,
            f=f,
            links=links,
            sentiments=sentiments,
            ratings=ratings,
            fmt={
                "ai_rate": _fmt_rate(t["ai_resolution_rate"]),
                "handoff_rate": _fmt_rate(t["handoff_rate"]),
                "bot_rate": _fmt_rate(t["bot_involvement_rate"]),
                "csat_score": _fmt_rate(t["csat_score"]),
                "csat_rr": _fmt_rate(t["csat_response_rate"]),
                "reopen_rate": _fmt_rate(t["reopen_rate"]),
                "frt_median": _fmt_duration(data["first_response"]["median"]),
                "frt_p90": _fmt_duration(data["first_response"]["p90"]),
                "res_median": _fmt_duration(data["resolution"]["median"]),
                "res_p90": _fmt_duration(data["resolution"]["p90"]),
            },
            widgets=Widget.objects.for_tenant(self.tenant).order_by("name").values("id", "name"),
            agents=[
                {"id": m.pk, "name": m.name}
                for m in Membership.objects.for_tenant(self.tenant).select_related("user").order_by("pk")
            ],
            export_url=reverse("reporting:export", args=[self.tenant.slug]) + "?" + urlencode(f.as_query()),
            chart_data={
                "series": data["series"],
                "histograms": data["histograms"],
                "group": f.group,
            },
        )
        return ctx


def _conversation_url(slug: str, conversation_id: int) -> str | None:
    try:
        return reverse("chat:inbox", args=[slug]) + f"?conversation={conversation_id}"
    except NoReverseMatch:
        return None


class DrilldownView(_ReportingView):
    template_name = "reporting/drilldown.html"
    page_size = 200

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        f = self.filters()
        metric = request.GET.get("metric", "conversations")
        key = request.GET.get("key")
        period = selectors._date(request.GET.get("period"))
        qs = selectors.drilldown(tenant=self.tenant, filters=f, metric=metric, key=key, period=period)
        if request.GET.get("format") == "csv":
            return _csv_response(
                f"conversations-{metric}-{f.start}-{f.end}.csv",
                ["conversation_id", "started_at", "local_day", "widget_id", "agent_id", "bot_involved", "handed_off",
                 "handoff_reason", "resolved", "reopened", "ai_resolved", "first_response_s", "resolution_s",
                 "csat_rating", "sentiment", "intent"],
                (
                    [r.conversation_id, r.started_at.isoformat(), r.day.isoformat(), r.widget_id, r.agent_id or "",
                     r.bot_involved, r.handed_off, r.handoff_reason or "", r.resolved, r.reopened, r.ai_resolved,
                     " ".join(str(round(v)) for v in r.frt_values), " ".join(str(round(v)) for v in r.resolution_values),
                     r.csat_rating or "", r.sentiment or "", r.intent or ""]
                    for r in qs.iterator()
                ),
            )
        offset = max(0, selectors._int(request.GET.get("offset")) or 0)
        total = qs.count()
        rows = list(qs[offset : offset + self.page_size])
        for r in rows:
            r.url = _conversation_url(self.tenant.slug, r.conversation_id)  # type: ignore[attr-defined]
            r.frt_fmt = ", ".join(_fmt_duration(v) for v in r.frt_values)  # type: ignore[attr-defined]
            r.res_fmt = ", ".join(_fmt_duration(v) for v in r.resolution_values)  # type: ignore[attr-defined]
        q = {k: v for k, v in request.GET.items() if k != "offset"}
        base = "?" + urlencode(q)
        label = str(METRIC_LABELS.get(metric, metric))
        if key:
            label += f": {REASON_LABELS.get(key, key) if metric == 'handoff_reason' else key}"
        ctx = self.get_context_data(
            f=f,
            metric_label=label,
            tz_name=str(tenant_zone(self.tenant)),
            period=period,
            total=total,
            rows=rows,
            offset=offset,
            next_url=base + f"&offset={offset + self.page_size}" if offset + self.page_size < total else None,
            prev_url=base + f"&offset={max(0, offset - self.page_size)}" if offset else None,
            csv_url=base + "&format=csv",
            back_url=reverse("reporting:dashboard", args=[self.tenant.slug]) + "?" + urlencode(f.as_query()),
        )
        return self.render_to_response(ctx)


class ExportView(_ReportingView):
    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        f = self.filters()
        data = selectors.dashboard(tenant=self.tenant, filters=f)
        header = ["period", "conversations", "bot_involved", "ai_resolved", "ai_resolution_rate", "handed_off",
                  "handoff_rate", "resolved", "first_response_median_s", "first_response_p90_s", "resolution_median_s",
                  "resolution_p90_s", "csat_answered", "csat_score", "positive", "neutral", "negative"]
        rows: list[list[Any]] = []
        for p in data["series"]:
            rows.append([
                p["period"], p["conversations"], p["bot_involved"], p["ai_resolved"], p["ai_resolution_rate"],
                p["handed_off"], p["handoff_rate"], p["resolved"], p["first_response"]["median"],
                p["first_response"]["p90"], p["resolution"]["median"], p["resolution"]["p90"], p["csat_answered"],
                p["csat_score"], p["sentiments"]["positive"], p["sentiments"]["neutral"], p["sentiments"]["negative"],
            ])
        t = data["totals"]
        rows.append([
            "total", t["conversations"], t["bot_involved"], t["ai_resolved"], t["ai_resolution_rate"], t["handed_off"],
            t["handoff_rate"], t["resolved"], data["first_response"]["median"], data["first_response"]["p90"],
            data["resolution"]["median"], data["resolution"]["p90"], t["csat_answered"], t["csat_score"],
            data["sentiments"]["positive"], data["sentiments"]["neutral"], data["sentiments"]["negative"],
        ])
        return _csv_response(f"dashboard-{self.tenant.slug}-{f.start}-{f.end}.csv", header, rows)


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_response(filename: str, header: list[str], rows: Any) -> HttpResponse:
    writer = csv.writer(_Echo())
    body = writer.writerow(header) + "".join(writer.writerow(r) for r in rows)
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response

