from __future__ import annotations

from typing import Any

from rest_framework import serializers

from ml.models import (
    Action,
    AIPolicy,
    Intent,
    IntentExample,
    KnowledgeArticle,
    KnowledgeImport,
    ModelVersion,
    TrainingRun,
)


class ArticleSerializer(serializers.ModelSerializer):
    tags = serializers.ListField(child=serializers.CharField(max_length=40), required=False)

    class Meta:
        model = KnowledgeArticle
        fields = ["id", "title", "body", "tags", "status", "language", "source", "embedding_status",
                  "created_at", "updated_at"]
        read_only_fields = ["id", "source", "embedding_status", "created_at", "updated_at"]


class ImportSerializer(serializers.ModelSerializer):
    percent = serializers.IntegerField(read_only=True)

    class Meta:
        model = KnowledgeImport
        fields = ["id", "kind", "filename", "status", "total", "processed", "created_count", "percent", "errors",
                  "created_at", "finished_at"]
        read_only_fields = fields


class ImportCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["csv", "files"])
    file = serializers.ListField(child=serializers.FileField(), allow_empty=False)
    publish = serializers.BooleanField(default=True)


def _example_texts(intent: Intent) -> list[str]:
    cache = getattr(intent, "_prefetched_objects_cache", {})
    if "examples" in cache:
        return [e.text for e in cache["examples"]]
    return list(IntentExample.objects.for_tenant(intent.tenant_id).filter(intent=intent).order_by("pk")
                .values_list("text", flat=True))


class IntentSerializer(serializers.ModelSerializer):
    examples = serializers.ListField(child=serializers.CharField(max_length=500), required=False)

    class Meta:
        model = Intent
        fields = ["id", "name", "description", "escalates", "examples", "created_at"]
        read_only_fields = ["id", "created_at"]

    def to_representation(self, instance: Intent) -> dict[str, Any]:
        return {
            "id": instance.pk, "name": instance.name, "description": instance.description,
            "escalates": instance.escalates, "examples": _example_texts(instance),
            "created_at": instance.created_at.isoformat() if instance.created_at else None,
        }


class ExamplesSerializer(serializers.Serializer):
    texts = serializers.ListField(child=serializers.CharField(max_length=500), allow_empty=False)


class PolicySerializer(serializers.ModelSerializer):
    supported_languages = serializers.ListField(child=serializers.CharField(max_length=10), required=False)

    class Meta:
        model = AIPolicy
        fields = ["confidence_threshold", "handoff_on_out_of_scope", "negative_streak", "max_bot_turns", "persona",
                  "guardrails", "supported_languages", "unsupported_language", "use_generator", "retrain_schedule",
                  "retrain_min_new", "agent_settings", "oos_max_in_scope_reject", "updated_at"]
        read_only_fields = ["updated_at"]


class ActionParameterSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=40)
    type = serializers.ChoiceField(choices=["order_number", "email", "integer", "string"])
    required = serializers.BooleanField(default=True)  # type: ignore[assignment]  # a field named like a Field attribute
    prompt = serializers.CharField(max_length=200, required=False, allow_blank=True)


class ActionSerializer(serializers.ModelSerializer):
    parameters = ActionParameterSerializer(many=True, required=False)
    trigger_intents = serializers.ListField(child=serializers.CharField(max_length=80), required=False)
    response_fields = serializers.ListField(child=serializers.CharField(max_length=80), required=False, max_length=50)
    # Write-only: the secret is never returned, only whether one is set.
    auth_header_value = serializers.CharField(max_length=500, required=False, allow_blank=True, write_only=True)
    has_secret = serializers.BooleanField(read_only=True)  # type: ignore[assignment]

    class Meta:
        model = Action
        fields = ["id", "name", "description", "method", "url_template", "auth_header_name", "auth_header_value",
                  "has_secret", "parameters", "trigger_intents", "response_template", "response_fields",
                  "read_only", "needs_approval", "requires_verified_visitor", "timeout_s", "is_active", "created_at"]
        read_only_fields = ["id", "has_secret", "created_at"]


class ModelVersionSerializer(serializers.ModelSerializer):
    class Meta:
        model = ModelVersion
        fields = ["id", "kind", "version", "status", "metrics", "serving_metrics", "replay", "data_hash",
                  "code_version", "training_seconds", "reason", "created_at", "promoted_at"]
        read_only_fields = fields


class TrainingRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = TrainingRun
        fields = ["id", "kind", "status", "trigger", "stage", "step", "total_steps", "loss", "cancel_requested",
                  "model_version", "message", "heartbeat_at", "created_at", "finished_at"]
        read_only_fields = fields


class AgentFeedbackSerializer(serializers.Serializer):
    message_id = serializers.IntegerField(help_text="chat's id of the visitor message")
    kind = serializers.ChoiceField(choices=["relabel", "wrong", "corrected"])
    label = serializers.CharField(max_length=80, required=False, allow_blank=True, default="")  # type: ignore[assignment]
    correction = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")
