"""Reporting read models, derived from chat's append-only ReportingEvents.

ConversationFact: one row per conversation, folded from its events (chat.reporting.compute).
DailyRollup: facts summed per tenant, local day (Tenant.timezone), widget and agent; the
dashboard reads these. Both are rebuilt from events by `rollups.refresh_tenant`, so they
can be dropped and recomputed at any time.
"""

from __future__ import annotations

from django.db import models

from tenants.scoping import TenantOwnedModel


class ConversationFact(TenantOwnedModel):
    conversation = models.ForeignKey("chat.Conversation", on_delete=models.CASCADE, related_name="+")
    widget_id = models.BigIntegerField()
    agent_id = models.BigIntegerField(null=True, blank=True)
    started_at = models.DateTimeField()
    day = models.DateField()  # local day of started_at in the tenant's time zone
    bot_involved = models.BooleanField(default=False)
    handed_off = models.BooleanField(default=False)
    handoff_reason = models.CharField(max_length=32, null=True, blank=True)
    resolved = models.BooleanField(default=False)
    reopened = models.BooleanField(default=False)
    ai_resolved = models.BooleanField(default=False)
    ai_pending = models.BooleanField(default=False)
    # Per care cycle, seconds.
    frt_values = models.JSONField(default=list, blank=True)
    resolution_values = models.JSONField(default=list, blank=True)
    human_replied = models.BooleanField(default=False)
    csat_surveyed = models.BooleanField(default=False)
    csat_rating = models.SmallIntegerField(null=True, blank=True)
    sentiment = models.CharField(max_length=16, null=True, blank=True)
    intent = models.CharField(max_length=100, null=True, blank=True)
    knowledge_gap = models.BooleanField(default=False)
    last_event_id = models.BigIntegerField(default=0)
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "conversation"], name="rfact_unique_conversation"),
        ]
        indexes = [
            models.Index(fields=["tenant", "day"], name="rfact_tenant_day"),
            models.Index(fields=["tenant", "ai_pending"], name="rfact_tenant_pending"),
        ]


class DailyRollup(TenantOwnedModel):
    day = models.DateField()
    widget_id = models.BigIntegerField()
    agent_id = models.BigIntegerField(default=0)  # 0: no agent
    conversations = models.IntegerField(default=0)
    bot_involved = models.IntegerField(default=0)
    handed_off = models.IntegerField(default=0)  # bot-involved and handed off
    ai_resolved = models.IntegerField(default=0)
    ai_pending = models.IntegerField(default=0)
    human_replied = models.IntegerField(default=0)
    resolved = models.IntegerField(default=0)
    reopened = models.IntegerField(default=0)
    csat_surveyed = models.IntegerField(default=0)
    csat_answered = models.IntegerField(default=0)
    csat_positive = models.IntegerField(default=0)
    knowledge_gaps = models.IntegerField(default=0)
    frt_values = models.JSONField(default=list, blank=True)
    resolution_values = models.JSONField(default=list, blank=True)
    # The same times as sparse histograms [bucket, count, ...] (chat.reporting.histogram):
    # long ranges add these instead of decoding every value.
    frt_hist = models.JSONField(default=list, blank=True)
    resolution_hist = models.JSONField(default=list, blank=True)
    # {code: conversations}
    handoff_reasons = models.JSONField(default=dict, blank=True)
    sentiments = models.JSONField(default=dict, blank=True)
    intents = models.JSONField(default=dict, blank=True)
    gap_intents = models.JSONField(default=dict, blank=True)
    csat_ratings = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "day", "widget_id", "agent_id"], name="rollup_unique_key"),
        ]


class RollupState(TenantOwnedModel):
    last_event_id = models.BigIntegerField(default=0)
    refreshed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant"], name="rollupstate_unique_tenant")]
