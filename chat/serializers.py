"""REST shapes for conversations and messages (the same as the socket payloads)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from chat.models import CannedResponse, Contact, Conversation, ConversationStatus, Label, Message


class LabelSerializer(serializers.ModelSerializer):
    class Meta:
        model = Label
        fields = ["id", "name", "color"]
        read_only_fields = ["id"]


class CannedResponseSerializer(serializers.ModelSerializer):
    class Meta:
        model = CannedResponse
        fields = ["id", "shortcut", "text"]
        read_only_fields = ["id"]


class ContactSerializer(serializers.ModelSerializer):
    class Meta:
        model = Contact
        fields = ["id", "name", "email", "verified", "external_user_id", "attributes", "language", "created_at", "last_seen_at"]
        read_only_fields = fields


class MessageSerializer(serializers.ModelSerializer):
    author_name = serializers.SerializerMethodField()

    class Meta:
        model = Message
        fields = [
            "id", "conversation", "seq", "client_msg_id", "sender", "author", "author_name", "body", "event",
            "reply_to", "intent", "intent_confidence", "sentiment", "sentiment_score", "language",
            "explanation", "citations", "feedback", "created_at",
        ]
        read_only_fields = fields

    def get_author_name(self, obj: Message) -> str:
        return self.context.get("author_names", {}).get(obj.author_id or 0, "")


class ConversationSerializer(serializers.ModelSerializer):
    contact = ContactSerializer(read_only=True)
    labels = serializers.SerializerMethodField()
    csat = serializers.SerializerMethodField()

    class Meta:
        model = Conversation
        fields = [
            "id", "widget", "contact", "status", "handled_by", "assignee", "handoff_reason", "handed_off_at",
            "snoozed_until", "labels", "last_seq", "bot_turns", "cycle", "csat_state", "csat", "visitor_read_seq",
            "agent_read_seq", "last_message_at", "last_message_preview", "created_at", "resolved_at", "reopened_at",
        ]
        read_only_fields = fields

    def get_labels(self, obj: Conversation) -> list[dict[str, Any]]:
        labels = self.context.get("labels", {}).get(obj.pk, [])
        return [{"id": x.pk, "name": x.name, "color": x.color} for x in labels]

    def get_csat(self, obj: Conversation) -> list[dict[str, Any]]:
        rows = self.context.get("csat", {}).get(obj.pk, [])
        return [{"cycle": r.cycle, "rating": r.rating, "comment": r.comment, "agent": r.agent_id} for r in rows]


class SendSerializer(serializers.Serializer):
    body = serializers.CharField(trim_whitespace=False)
    note = serializers.BooleanField(default=False)
    client_msg_id = serializers.CharField(required=False, allow_blank=True, max_length=64)


class AssignSerializer(serializers.Serializer):
    assignee = serializers.IntegerField(allow_null=True)


class SnoozeSerializer(serializers.Serializer):
    until = serializers.DateTimeField()


class LabelsSerializer(serializers.Serializer):
    labels = serializers.ListField(child=serializers.IntegerField(), max_length=50)


class ReadSerializer(serializers.Serializer):
    seq = serializers.IntegerField(min_value=0)


class ConversationFilterSerializer(serializers.Serializer):
    view = serializers.ChoiceField(choices=["all", "unassigned", "mine"], default="all")
    status = serializers.ChoiceField(choices=ConversationStatus.choices, required=False)
    handled_by = serializers.ChoiceField(choices=["bot", "human"], required=False)
    label = serializers.IntegerField(required=False)  # type: ignore[assignment]
    contact = serializers.IntegerField(required=False)
    agent = serializers.IntegerField(required=False)  # the assignee's membership id
    since = serializers.DateField(required=False)  # created on or after
    until = serializers.DateField(required=False)  # created on or before
    q = serializers.CharField(required=False, allow_blank=True, max_length=200)
