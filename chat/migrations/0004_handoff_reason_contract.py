"""Handoff reasons follow ml.api.HandoffReason.

The agent's turn-limit reason is `max_bot_turns` (chat used to call it `bot_turn_limit`,
which only the demo history generator wrote). `policy` was the value chat substituted for
any reason it did not know, so the real reason is lost: those rows become NULL, shown as
"Unknown" on the dashboard. Reporting rows are rewritten the same way.
"""

from django.db import migrations, models

RENAMED = {"bot_turn_limit": "max_bot_turns", "policy": None}


def rewrite_reasons(apps, schema_editor):
    Conversation = apps.get_model("chat", "Conversation")
    ReportingEvent = apps.get_model("chat", "ReportingEvent")
    ConversationFact = apps.get_model("reporting", "ConversationFact")
    DailyRollup = apps.get_model("reporting", "DailyRollup")
    for old, new in RENAMED.items():
        Conversation.objects.filter(handoff_reason=old).update(handoff_reason=new)
        ReportingEvent.objects.filter(reason=old).update(reason=new)
        ConversationFact.objects.filter(handoff_reason=old).update(handoff_reason=new)
    for rollup in DailyRollup.objects.filter(handoff_reasons__has_any_keys=list(RENAMED)).iterator():
        counts = dict(rollup.handoff_reasons)
        for old, new in RENAMED.items():
            if old in counts:
                key = new or "unknown"
                counts[key] = counts.get(key, 0) + counts.pop(old)
        DailyRollup.objects.filter(pk=rollup.pk).update(handoff_reasons=counts)


class Migration(migrations.Migration):
    dependencies = [
        ("chat", "0003_message_contact_client_msg_id"),
        ("reporting", "0001_initial"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="conversation", name="conversation_handoff_reason_known"),
        migrations.RunPython(rewrite_reasons, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="conversation",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("handoff_reason__isnull", True),
                    (
                        "handoff_reason__in",
                        (
                            "visitor_request",
                            "max_bot_turns",
                            "negative_sentiment",
                            "escalating_intent",
                            "unsupported_language",
                            "needs_approval",
                            "identity_required",
                            "missing_parameter",
                            "action_failed",
                            "out_of_scope",
                            "low_confidence",
                            "no_answer",
                            "model_error",
                            "agent_takeover",
                            "bot_timeout",
                        ),
                    ),
                    _connector="OR",
                ),
                name="conversation_handoff_reason_known",
            ),
        ),
    ]
