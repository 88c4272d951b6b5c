"""JSON API: the dashboard figures and the drill-down behind each (in the OpenAPI schema)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from chat.reporting import selectors
from chat.reporting.models import ConversationFact, DailyRollup
from tenants.api import TenantViewSet
from tenants.pagination import MAX_OFFSET, bounded_int

FILTER_PARAMS = [
    OpenApiParameter("from", OpenApiTypes.DATE, description="First local day (tenant time zone), inclusive"),
    OpenApiParameter("to", OpenApiTypes.DATE, description="Last local day, inclusive (default: today)"),
    OpenApiParameter("days", OpenApiTypes.INT, description="Range length when `from` is absent (default 30)"),
    OpenApiParameter("widget", OpenApiTypes.INT, description="Widget id"),
    OpenApiParameter("agent", OpenApiTypes.INT, description="Membership id of the agent; 0 = no agent"),
    OpenApiParameter("group", OpenApiTypes.STR, enum=["day", "week"], description="Series bucket"),
]

_pct = inline_serializer(
    "ReportingPercentiles",
    {
        "median": serializers.FloatField(allow_null=True),
        "p90": serializers.FloatField(allow_null=True),
        "cycles": serializers.IntegerField(),
        "conversations": serializers.IntegerField(),
    },
)
class RankedSerializer(serializers.Serializer):
    key = serializers.CharField()
    count = serializers.IntegerField()
    share = serializers.FloatField(allow_null=True)


class DashboardSerializer(serializers.Serializer):
    filters = serializers.DictField()
    refreshed_at = serializers.DateTimeField(allow_null=True)
    totals = serializers.DictField(help_text="Counts of conversations and rates (0..1)")
    first_response = _pct
    resolution = _pct
    percentiles = serializers.DictField(
        help_text="exact: medians/p90 from the values; else from histogram buckets (precision says how close)"
    )
    histograms = serializers.DictField()
    handoff_reasons = RankedSerializer(many=True)
    sentiments = serializers.DictField(child=serializers.IntegerField())
    top_intents = RankedSerializer(many=True)
    knowledge_gaps = RankedSerializer(many=True)
    csat_ratings = serializers.DictField(child=serializers.IntegerField())
    series = serializers.ListField(child=serializers.DictField())


class DrilldownRowSerializer(serializers.ModelSerializer):
    class Meta:
        model = ConversationFact
        fields = [
            "conversation_id", "started_at", "day", "widget_id", "agent_id", "bot_involved", "handed_off",
            "handoff_reason", "resolved", "reopened", "ai_resolved", "ai_pending", "frt_values", "resolution_values",
            "csat_rating", "sentiment", "intent", "knowledge_gap",
        ]


class DrilldownPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    offset = serializers.IntegerField()
    results = DrilldownRowSerializer(many=True)


def check_filter_params(params: Any) -> None:
    """400 for a filter the selectors would otherwise quietly ignore or clamp (a day outside
    the years reports can cover, a non-numeric widget): the caller learns what was wrong."""
    for name in ("from", "to", "period"):
        raw = params.get(name)
        if raw in (None, ""):
            continue
        try:
            day = dt.date.fromisoformat(raw)
        except ValueError:
            raise exceptions.ValidationError({name: ["Use a date like 2026-01-31."]}) from None
        if not selectors.EARLIEST_DAY <= day <= selectors.LATEST_DAY:
            raise exceptions.ValidationError(
                {name: [f"Pick a day between {selectors.EARLIEST_DAY} and {selectors.LATEST_DAY}."]}
            )
    bounded_int(params, "days", default=30, minimum=1, maximum=selectors.MAX_DAYS)
    for name in ("widget", "agent"):
        bounded_int(params, name, default=0, minimum=0, maximum=2**63 - 1)


class DashboardViewSet(TenantViewSet):
    model = DailyRollup

    @extend_schema(parameters=FILTER_PARAMS, responses=DashboardSerializer, operation_id="reporting_dashboard")
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        check_filter_params(request.query_params)
        filters = selectors.parse_filters(tenant=self.tenant, params=request.query_params)
        return Response(selectors.dashboard(tenant=self.tenant, filters=filters))


class DrilldownViewSet(TenantViewSet):
    model = ConversationFact

    @extend_schema(
        parameters=[
            *FILTER_PARAMS,
            OpenApiParameter("metric", OpenApiTypes.STR, required=True, description="e.g. ai_resolved, handoff_reason"),
            OpenApiParameter("key", OpenApiTypes.STR, description="reason / sentiment / intent / rating"),
            OpenApiParameter("period", OpenApiTypes.DATE, description="One series bucket (day or week start)"),
            OpenApiParameter("offset", OpenApiTypes.INT),
            OpenApiParameter("limit", OpenApiTypes.INT, description="At most 500"),
        ],
        responses=DrilldownPageSerializer,
        operation_id="reporting_conversations",
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        params = request.query_params
        check_filter_params(params)
        offset = bounded_int(params, "offset", default=0, minimum=0, maximum=MAX_OFFSET)
        limit = bounded_int(params, "limit", default=100, minimum=1, maximum=500)
        filters = selectors.parse_filters(tenant=self.tenant, params=params)
        qs = selectors.drilldown(
            tenant=self.tenant,
            filters=filters,
            metric=params.get("metric", ""),
            key=params.get("key"),
            period=selectors._date(params.get("period")),
        )
        page = list(qs[offset : offset + limit])
        return Response(
            {"count": qs.count(), "offset": offset, "results": DrilldownRowSerializer(page, many=True).data}
        )
