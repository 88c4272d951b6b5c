"""Live chat data: visitors (contacts), conversations, messages, CSAT, labels, canned
responses, agent presence and the append-only reporting events.

Every model is tenant-owned (fail-closed scoping, tenants.scoping). Integrity lives in
database constraints; `tenant` comes first in unique constraints and hot indexes.
"""

from __future__ import annotations

import secrets

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ml.api import HandoffReason
from tenants.scoping import TenantOwnedModel


class Contact(TenantOwnedModel):
    """A visitor of one widget. Anonymous visitors are reached through a signed visitor
    token naming this row; verified ones also through (widget, external_user_id)."""

    widget = models.ForeignKey("tenants.Widget", on_delete=models.CASCADE, related_name="+")
    # Set only when the site proved it with HMAC-SHA256(widget secret, user_id).
    external_user_id = models.CharField(max_length=200, null=True, blank=True)
    verified = models.BooleanField(default=False)
    # A label the visitor typed: never grants access to anything.
    email = models.CharField(max_length=254, blank=True)
    name = models.CharField(max_length=200, blank=True)
    attributes = models.JSONField(default=dict, blank=True)
    language = models.CharField(max_length=16, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "widget", "external_user_id"],
                condition=Q(external_user_id__isnull=False),
                name="contact_unique_tenant_widget_user",
            ),
            models.CheckConstraint(
                condition=Q(verified=False) | Q(external_user_id__isnull=False), name="contact_verified_has_user_id"
            ),
        ]
        indexes = [models.Index(fields=["tenant", "widget", "created_at"])]

    def __str__(self) -> str:
        return self.name or self.email or f"Visitor #{self.pk}"


class Label(TenantOwnedModel):
    name = models.CharField(max_length=60)
    color = models.CharField(max_length=7, default="#64748b")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="label_unique_tenant_name"),
            models.CheckConstraint(condition=Q(color__regex=r"^#[0-9a-fA-F]{6}$"), name="label_color_hex"),
        ]

    def __str__(self) -> str:
        return self.name


class ConversationStatus(models.TextChoices):
    OPEN = "open", _("Open")
    PENDING = "pending", _("Pending")
    SNOOZED = "snoozed", _("Snoozed")
    RESOLVED = "resolved", _("Resolved")


class HandledBy(models.TextChoices):
    BOT = "bot", _("Bot")
    HUMAN = "human", _("Human")


class CsatState(models.TextChoices):
    NONE = "none", _("Not requested")
    REQUESTED = "requested", _("Requested")
    ANSWERED = "answered", _("Answered")


# Reason codes for handing a conversation to a human (structured, never model text):
# ml.api.HandoffReason, the contract both apps share.
HANDOFF_REASONS = tuple(reason.value for reason in HandoffReason)


class Conversation(TenantOwnedModel):
    widget = models.ForeignKey("tenants.Widget", on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=16, choices=ConversationStatus.choices, default=ConversationStatus.OPEN)
    handled_by = models.CharField(max_length=8, choices=HandledBy.choices, default=HandledBy.BOT)
    assignee = models.ForeignKey(
        "tenants.Membership", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    handoff_reason = models.CharField(max_length=32, null=True, blank=True)
    handed_off_at = models.DateTimeField(null=True, blank=True)
    snoozed_until = models.DateTimeField(null=True, blank=True)
    labels: models.ManyToManyField[Label, ConversationLabel] = models.ManyToManyField(
        Label, through="ConversationLabel", related_name="+", blank=True
    )
    # Highest seq allocated; bumped atomically with the message insert (services.allocate_seq).
    last_seq = models.IntegerField(default=0)
    bot_turns = models.IntegerField(default=0)
    # Care cycle: 1 at creation, +1 on every reopen. CSAT is one per cycle.
    cycle = models.IntegerField(default=1)
    csat_state = models.CharField(max_length=12, choices=CsatState.choices, default=CsatState.NONE)
    # Read state: the highest seq each side has seen.
    visitor_read_seq = models.IntegerField(default=0)
    agent_read_seq = models.IntegerField(default=0)
    last_message_at = models.DateTimeField(null=True, blank=True)
    last_message_preview = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    reopened_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(last_seq__gte=0), name="conversation_last_seq_nonneg"),
            models.CheckConstraint(condition=Q(cycle__gte=1), name="conversation_cycle_positive"),
            models.CheckConstraint(
                condition=Q(handoff_reason__isnull=True) | Q(handoff_reason__in=HANDOFF_REASONS),
                name="conversation_handoff_reason_known",
            ),
            models.CheckConstraint(
                condition=~Q(status="resolved") | Q(resolved_at__isnull=False), name="conversation_resolved_has_time"
            ),
            models.CheckConstraint(
                condition=~Q(status="snoozed") | Q(snoozed_until__isnull=False), name="conversation_snoozed_has_until"
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "status", "last_message_at"], name="conv_tenant_status_last"),
            models.Index(fields=["tenant", "contact", "created_at"], name="conv_tenant_contact"),
            models.Index(fields=["tenant", "assignee", "status"], name="conv_tenant_assignee"),
            models.Index(fields=["tenant", "created_at"], name="conv_tenant_created"),
        ]

    def __str__(self) -> str:
        return f"Conversation #{self.pk}"


class ConversationLabel(TenantOwnedModel):
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="+")
    label = models.ForeignKey(Label, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "conversation", "label"], name="convlabel_unique"),
        ]


class Sender(models.TextChoices):
    VISITOR = "visitor", _("Visitor")
    BOT = "bot", _("Bot")
    AGENT = "agent", _("Agent")
    SYSTEM = "system", _("System")
    NOTE = "note", _("Private note")


class Message(TenantOwnedModel):
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="+")
    seq = models.IntegerField()
    client_msg_id = models.CharField(max_length=64, null=True, blank=True)
    # The visitor who sent it (visitor messages only: the conversation's contact), so that
    # client_msg_id is unique per visitor across conversations. Rows go with their
    # conversation (which goes with its contact): no cascade or index of its own, and no
    # database FK, whose check would lock the contact row on every visitor message.
    contact = models.ForeignKey(
        Contact,
        on_delete=models.DO_NOTHING,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    sender = models.CharField(max_length=8, choices=Sender.choices)
    author = models.ForeignKey("tenants.Membership", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    body = models.TextField()
    # The inbound visitor message a bot message answers: one bot message per inbound message.
    reply_to = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    # System events (handoff, agent_joined, resolved, reopened...) carry a machine code.
    event = models.CharField(max_length=32, blank=True)
    intent = models.CharField(max_length=100, null=True, blank=True)
    intent_confidence = models.FloatField(null=True, blank=True)
    sentiment = models.CharField(max_length=16, null=True, blank=True)
    sentiment_score = models.FloatField(null=True, blank=True)
    language = models.CharField(max_length=16, blank=True)
    explanation = models.JSONField(default=dict, blank=True)
    citations = models.JSONField(default=list, blank=True)
    # Visitor feedback on a bot message: +1 / -1 / null.
    feedback = models.SmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "conversation", "seq"], name="message_unique_seq"),
            # A visitor's client_msg_id is stored once per visitor (any conversation); an
            # agent's once per conversation.
            models.UniqueConstraint(
                fields=["tenant", "contact", "client_msg_id"],
                condition=Q(client_msg_id__isnull=False, sender="visitor"),
                name="message_unique_visitor_client_msg_id",
            ),
            models.UniqueConstraint(
                fields=["tenant", "conversation", "client_msg_id"],
                condition=Q(client_msg_id__isnull=False) & ~Q(sender="visitor"),
                name="message_unique_client_msg_id",
            ),
            models.UniqueConstraint(
                fields=["tenant", "reply_to"],
                condition=Q(sender="bot", reply_to__isnull=False),
                name="message_one_bot_reply_per_inbound",
            ),
            models.CheckConstraint(condition=Q(seq__gte=1), name="message_seq_positive"),
            models.CheckConstraint(
                condition=Q(sender__in=["visitor", "bot", "agent", "system", "note"]), name="message_sender_known"
            ),
            models.CheckConstraint(
                condition=Q(feedback__isnull=True) | Q(feedback__in=[-1, 1]), name="message_feedback_pm1"
            ),
        ]
        indexes = [models.Index(fields=["tenant", "conversation", "created_at"], name="msg_tenant_conv_created")]

    def __str__(self) -> str:
        return f"#{self.conversation_id}:{self.seq} {self.sender}"


class CsatResponse(TenantOwnedModel):
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="+")
    cycle = models.IntegerField()
    rating = models.SmallIntegerField()
    comment = models.TextField(blank=True)
    agent = models.ForeignKey("tenants.Membership", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "conversation", "cycle"], name="csat_one_per_cycle"),
            models.CheckConstraint(condition=Q(rating__gte=1, rating__lte=5), name="csat_rating_1_5"),
        ]
        indexes = [models.Index(fields=["tenant", "created_at"], name="csat_tenant_created")]


class CannedResponse(TenantOwnedModel):
    shortcut = models.SlugField(max_length=40)
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "shortcut"], name="canned_unique_shortcut")]

    def __str__(self) -> str:
        return f"/{self.shortcut}"


class AgentPresence(TenantOwnedModel):
    """One row per open inbox socket; stale rows expire by heartbeat."""

    membership = models.ForeignKey("tenants.Membership", on_delete=models.CASCADE, related_name="+")
    channel_name = models.CharField(max_length=200)
    heartbeat_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "channel_name"], name="presence_unique_channel")]
        indexes = [models.Index(fields=["tenant", "heartbeat_at"], name="presence_tenant_heartbeat")]


class EventKind(models.TextChoices):
    CONVERSATION_CREATED = "conversation_created"
    BOT_REPLIED = "bot_replied"
    HANDOFF = "handoff"
    FIRST_HUMAN_REPLY = "first_human_reply"
    AGENT_REPLIED = "agent_replied"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    CSAT_SENT = "csat_sent"
    CSAT_ANSWERED = "csat_answered"
    FEEDBACK = "feedback"
    ASSIGNED = "assigned"
    VISITOR_MESSAGE = "visitor_message"
    RESOLUTION_CONFIRMED = "resolution_confirmed"


class ReportingEvent(TenantOwnedModel):
    """Append-only facts for dashboards, written on commit by services; never updated.

    value: first_human_reply -> seconds since the later of start/handoff/reopen;
    resolved -> seconds since the cycle started; csat_answered -> rating;
    feedback -> +1/-1; bot_replied -> intent confidence.

    data: conversation_created -> contact_id; bot_replied -> action, intent, sentiment (the
    visitor message's label), message_id; visitor_message -> message_id, seq;
    resolved -> cycle, handled_by (bot|human), by (agent|visitor|auto);
    resolution_confirmed -> message_id (the bot answer the visitor said solved it), cycle.
    """

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=32, choices=EventKind.choices)
    at = models.DateTimeField()
    widget_id = models.BigIntegerField()
    agent_id = models.BigIntegerField(null=True, blank=True)  # Membership id, kept if the member leaves
    reason = models.CharField(max_length=32, null=True, blank=True)
    value = models.FloatField(null=True, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    kind__in=[
                        "conversation_created",
                        "bot_replied",
                        "handoff",
                        "first_human_reply",
                        "agent_replied",
                        "resolved",
                        "reopened",
                        "csat_sent",
                        "csat_answered",
                        "feedback",
                        "assigned",
                        "visitor_message",
                        "resolution_confirmed",
                    ]
                ),
                name="reportingevent_kind_known",
            )
        ]
        indexes = [
            models.Index(fields=["tenant", "kind", "at"], name="revent_tenant_kind_at"),
            models.Index(fields=["tenant", "conversation", "at"], name="revent_tenant_conv_at"),
            models.Index(fields=["tenant", "at"], name="revent_tenant_at"),
        ]


class RespondJob(TenantOwnedModel):
    """The outbox of chat.tasks.respond (issue 9 #6): "the bot owes this visitor message a
    reply". Written in the same statement/transaction as the message, so a broker that is
    down at the commit loses nothing; sent to the broker by chat.services.outbox (after the
    commit, and by beat's sweep), at most KEFU_RESPOND_PER_TENANT per tenant at a time;
    deleted when respond has finished with it. A row still here after
    KEFU_BOT_REPLY_DEADLINE_S is handed to a person (reason bot_timeout)."""

    message = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField()
    due_at = models.DateTimeField()  # next send attempt (backoff after a broker error)
    attempts = models.PositiveSmallIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)
    noticed_at = models.DateTimeField(null=True, blank=True)  # "still working on it" sent
    last_error = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        indexes = [
            models.Index(fields=["due_at"], condition=Q(sent_at__isnull=True), name="respondjob_pending"),
            models.Index(fields=["tenant", "sent_at"], name="respondjob_tenant_sent"),
            models.Index(fields=["created_at"], name="respondjob_created"),
        ]


# A message that shows an attachment: "[attachment:<key>] <name>" (chat.services.attachments).
ATTACHMENT_BODY_PREFIX = "[attachment:"


def new_attachment_key() -> str:
    """An attachment's public id: 32 random bytes, so URLs cannot be guessed or enumerated."""
    return secrets.token_urlsafe(32)


class Attachment(TenantOwnedModel):
    """A file (image or PDF) sent in a conversation by its visitor or an agent, stored
    through Django's default storage. Served only to that conversation's visitor and the
    tenant's members (chat.attachment_views); `key` is the only id that leaves the server."""

    key = models.CharField(max_length=64, unique=True, default=new_attachment_key, editable=False)
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="+")
    # The message that shows it; rows go with their message (privacy deletion, retention).
    message = models.ForeignKey(Message, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    sender = models.CharField(max_length=8, choices=Sender.choices)
    author = models.ForeignKey("tenants.Membership", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=64)
    size = models.IntegerField()
    file = models.FileField(max_length=200)
    thumbnail = models.FileField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(size__gte=1), name="attachment_size_positive")]
        indexes = [models.Index(fields=["tenant", "conversation"], name="attachment_tenant_conv")]

    def __str__(self) -> str:
        return f"#{self.conversation_id} {self.name}"
