from typing import Any

from rest_framework import serializers

from tenants import business_hours
from tenants.models import ApiKey, Invitation, Membership, Role, Widget


class MembershipSerializer(serializers.ModelSerializer):
    email = serializers.EmailField(source="user.email", read_only=True)
    name = serializers.CharField(read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "email", "name", "role", "created_at"]
        read_only_fields = ["id", "email", "name", "created_at"]


class RoleSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices)


class InvitationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Invitation
        fields = ["id", "email", "role", "created_at", "expires_at", "accepted_at", "revoked_at"]
        read_only_fields = ["id", "created_at", "expires_at", "accepted_at", "revoked_at"]
        extra_kwargs = {"role": {"required": True}}


class InvitationCreatedSerializer(InvitationSerializer):
    invite_url = serializers.CharField(read_only=True)

    class Meta(InvitationSerializer.Meta):
        fields = [*InvitationSerializer.Meta.fields, "invite_url"]


class WidgetSerializer(serializers.ModelSerializer):
    allowed_origins = serializers.ListField(child=serializers.CharField(max_length=300), required=False)

    class Meta:
        model = Widget
        # identity_secret is never part of a response except at creation/rotation.
        fields = [
            "id",
            "name",
            "public_key",
            "allowed_origins",
            "color",
            "greeting",
            "locale",
            "time_zone",
            "business_hours",
            "holidays",
            "away_message",
            "is_active",
            "created_at",
        ]
        read_only_fields = ["id", "public_key", "is_active", "created_at"]

    def validate_time_zone(self, value: str) -> str:
        return _hours_rule(business_hours.validate_time_zone, value)

    def validate_business_hours(self, value: object) -> object:
        return _hours_rule(business_hours.validate_schedule, value)

    def validate_holidays(self, value: object) -> object:
        return _hours_rule(business_hours.validate_holidays, value)


def _hours_rule(rule: Any, value: Any) -> Any:
    """A business-hours rule's ValueError becomes the field's 400."""
    try:
        return rule(value)
    except ValueError as exc:
        raise serializers.ValidationError(str(exc)) from exc


class WidgetCreatedSerializer(WidgetSerializer):
    identity_secret = serializers.CharField(read_only=True)

    class Meta(WidgetSerializer.Meta):
        fields = [*WidgetSerializer.Meta.fields, "identity_secret"]


class SecretSerializer(serializers.Serializer):
    identity_secret = serializers.CharField(read_only=True)


class ApiKeySerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiKey
        fields = ["id", "name", "prefix", "role", "created_at", "last_used_at"]
        read_only_fields = ["id", "prefix", "role", "created_at", "last_used_at"]


class ApiKeyCreatedSerializer(ApiKeySerializer):
    key = serializers.CharField(read_only=True)

    class Meta(ApiKeySerializer.Meta):
        fields = [*ApiKeySerializer.Meta.fields, "key"]


class PrivacySettingsSerializer(serializers.Serializer):
    retention_days = serializers.IntegerField(
        allow_null=True, min_value=1, max_value=3650,
        help_text="Visitor data older than this many days is deleted daily; null keeps it.",
    )
