"""Tenant-owned ML data: knowledge base, intents, AI policy, HTTP actions, model registry.

Every model inherits TenantOwnedModel (fail-closed scoping); `tenant` leads every unique
constraint and hot index. Integrity lives in database constraints.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from tenants.scoping import TenantOwnedModel

# --- knowledge base -------------------------------------------------------------------


class ArticleStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")


class EmbeddingStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    READY = "ready", _("Ready")
    FAILED = "failed", _("Failed")


class KnowledgeArticle(TenantOwnedModel):
    title = models.CharField(max_length=200)
    body = models.TextField(help_text="Markdown")
    tags = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=12, choices=ArticleStatus.choices, default=ArticleStatus.DRAFT)
    language = models.CharField(max_length=10, default="en")
    source = models.CharField(max_length=40, blank=True, default="manual")  # manual | csv | file:<name>
    # Bumped on every content change; the embedding task only writes chunks for the
    # revision it read (a stale task never overwrites newer chunks).
    revision = models.PositiveIntegerField(default=1)
    embedding_status = models.CharField(
        max_length=10, choices=EmbeddingStatus.choices, default=EmbeddingStatus.PENDING
    )
    embedded_revision = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "status", "deleted_at"]),
            models.Index(fields=["tenant", "updated_at"]),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(title=""), name="article_title_not_empty"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_live(self) -> bool:
        return self.status == ArticleStatus.PUBLISHED and self.deleted_at is None


class KnowledgeChunk(TenantOwnedModel):
    article = models.ForeignKey(KnowledgeArticle, on_delete=models.CASCADE, related_name="chunks")
    position = models.PositiveIntegerField()
    text = models.TextField()
    # float32 little-endian, L2-normalised (ml.backends.embeddings); empty until embedded.
    embedding = models.BinaryField(blank=True, default=b"")
    embedding_model = models.CharField(max_length=80, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "article", "position"], name="chunk_unique_position"),
        ]


class ImportStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class KnowledgeImport(TenantOwnedModel):
    """A bulk import (CSV of Q/A pairs or uploaded files), processed by a task with progress."""

    kind = models.CharField(max_length=10)  # csv | files
    filename = models.CharField(max_length=300, blank=True)
    status = models.CharField(max_length=10, choices=ImportStatus.choices, default=ImportStatus.PENDING)
    publish = models.BooleanField(default=True)
    # Parsed items [{"title", "body", "source"}] waiting to be created (emptied when done).
    items = models.JSONField(default=list, blank=True)
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    article_ids = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["tenant", "created_at"])]
        constraints = [
            models.CheckConstraint(condition=Q(processed__lte=models.F("total")), name="import_processed_le_total"),
        ]

    @property
    def percent(self) -> int:
        return int(100 * self.processed / self.total) if self.total else (100 if self.status == "done" else 0)


# --- revisions (what a serving process compares to refresh its per-tenant state) ------------


class MLRevision(TenantOwnedModel):
    """One row per tenant. Counters bumped (with F()) whenever knowledge, intents, policy
    or actions change; inference processes compare them to refresh their cached state."""

    knowledge = models.PositiveIntegerField(default=0)
    intents = models.PositiveIntegerField(default=0)
    config = models.PositiveIntegerField(default=0)  # policy + actions

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant"], name="mlrevision_one_per_tenant")]


# --- intents ----------------------------------------------------------------------------


class Intent(TenantOwnedModel):
    name = models.SlugField(max_length=80)
    description = models.CharField(max_length=300, blank=True)
    escalates = models.BooleanField(default=False, help_text="Hand off to a human when this intent is detected")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="intent_unique_name")]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class IntentExample(TenantOwnedModel):
    intent = models.ForeignKey(Intent, on_delete=models.CASCADE, related_name="examples")
    text = models.CharField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "intent", "text"], name="intent_example_unique_text"),
        ]


# --- AI policy -------------------------------------------------------------------------------


class UnsupportedLanguage(models.TextChoices):
    ARTICLE = "article", _("Answer with the article text")
    HANDOFF = "handoff", _("Hand off to a human")


class RetrainSchedule(models.TextChoices):
    OFF = "off", _("Off (manual only)")
    HOURLY = "hourly", _("Hourly")
    NIGHTLY = "nightly", _("Nightly")
    WEEKLY = "weekly", _("Weekly")


class AIPolicy(TenantOwnedModel):
    confidence_threshold = models.FloatField(default=0.35)
    handoff_on_out_of_scope = models.BooleanField(default=True)
    negative_streak = models.PositiveSmallIntegerField(default=2, help_text="Consecutive negative visitor messages")
    max_bot_turns = models.PositiveSmallIntegerField(default=8)
    persona = models.TextField(blank=True, default="You are a friendly, concise support assistant.")
    guardrails = models.TextField(
        blank=True,
        default="Never promise refunds, discounts or dates that are not in the knowledge base.",
    )
    supported_languages = models.JSONField(default=list, blank=True)  # [] = ["en"]
    unsupported_language = models.CharField(
        max_length=10, choices=UnsupportedLanguage.choices, default=UnsupportedLanguage.ARTICLE
    )
    use_generator = models.BooleanField(default=True, help_text="Let the LLM propose a candidate answer")
    # Overrides of the agent's thresholds (ml.dialogue.settings.AgentSettings and the answer
    # step's AnswerSettings), by field name; validated by ml.services.update_policy.
    agent_settings = models.JSONField(default=dict, blank=True)
    retrain_schedule = models.CharField(max_length=10, choices=RetrainSchedule.choices, default=RetrainSchedule.NIGHTLY)
    retrain_min_new = models.PositiveIntegerField(default=20, help_text="New or relabelled examples before a scheduled retrain")
    # The out-of-scope operating point: the share of in-scope validation messages the
    # retrained intent model's OOS thresholds may reject (ml.nlu.intent._tune_oos).
    oos_max_in_scope_reject = models.FloatField(
        default=0.03, help_text="Share of in-scope messages the out-of-scope guard may reject (0-0.5)")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant"], name="aipolicy_one_per_tenant"),
            models.CheckConstraint(
                condition=Q(confidence_threshold__gte=0) & Q(confidence_threshold__lte=1),
                name="aipolicy_threshold_0_1",
            ),
            models.CheckConstraint(condition=Q(negative_streak__gte=1), name="aipolicy_streak_ge_1"),
            models.CheckConstraint(condition=Q(max_bot_turns__gte=1), name="aipolicy_turns_ge_1"),
            models.CheckConstraint(
                condition=Q(oos_max_in_scope_reject__gte=0) & Q(oos_max_in_scope_reject__lte=0.5),
                name="aipolicy_oos_budget_0_05",
            ),
        ]


# --- actions ----------------------------------------------------------------------------------


class HttpMethod(models.TextChoices):
    GET = "GET", "GET"
    POST = "POST", "POST"


class Action(TenantOwnedModel):
    """An HTTP call the bot may make (e.g. order status).

    `parameters`: [{"name": "order_number", "type": "order_number|email|integer|string",
    "required": true, "prompt": "What is your order number?"}]. Identity (user id, e-mail)
    is never a parameter: it is sent from the *verified* identity only, as headers (an
    e-mail the visitor typed in the chat is a label, never identity).
    """

    name = models.SlugField(max_length=80)
    description = models.CharField(max_length=300, blank=True)
    method = models.CharField(max_length=6, choices=HttpMethod.choices, default=HttpMethod.GET)
    url_template = models.CharField(max_length=500)
    auth_header_name = models.CharField(max_length=80, blank=True)
    auth_header_value = models.CharField(max_length=500, blank=True)  # secret: write-only
    parameters = models.JSONField(default=list, blank=True)
    # Names of the intents that trigger this action (kept in step when an intent is renamed).
    trigger_intents = models.JSONField(default=list, blank=True)
    response_template = models.TextField(
        blank=True, help_text="e.g. 'Order {order_number} is {status}.' — fields from the JSON response"
    )
    # Names of the response's (flattened) JSON fields the bot may show; the template's own
    # placeholders are allowed too. No template and no allow-list: no field is shown.
    response_fields = models.JSONField(default=list, blank=True)
    read_only = models.BooleanField(default=True)
    needs_approval = models.BooleanField(default=False)
    # Called only for a visitor the site vouched for (HMAC-verified user id); anyone else
    # is asked to sign in, then handed off (reason identity_required).
    requires_verified_visitor = models.BooleanField(default=True)
    timeout_s = models.FloatField(default=5.0)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="action_unique_name"),
            models.CheckConstraint(condition=Q(timeout_s__gt=0) & Q(timeout_s__lte=30), name="action_timeout_range"),
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def has_secret(self) -> bool:
        return bool(self.auth_header_value)


# --- model registry (issue 6) ------------------------------------------------------------------


class ModelStatus(models.TextChoices):
    CANDIDATE = "candidate", _("Candidate")
    SERVING = "serving", _("Serving")
    RETIRED = "retired", _("Retired")
    FAILED = "failed", _("Failed")


class ModelVersion(TenantOwnedModel):
    kind = models.CharField(max_length=20, default="intent")
    version = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=ModelStatus.choices, default=ModelStatus.CANDIDATE)
    metrics = models.JSONField(default=dict, blank=True)
    data_hash = models.CharField(max_length=64, blank=True)
    code_version = models.CharField(max_length=64, blank=True)
    artifact_path = models.CharField(max_length=500, blank=True)
    training_seconds = models.FloatField(default=0)
    reason = models.TextField(blank=True)
    # SnapshotMeta of its training data (ml.learning.dataset): the scheduler's baseline.
    snapshot = models.JSONField(default=dict, blank=True)
    # Metrics of the version that was serving, on this version's validation data.
    serving_metrics = models.JSONField(default=dict, blank=True)
    # ml.learning.replay diff over the tenant's recent conversations.
    replay = models.JSONField(default=dict, blank=True)
    training_run = models.ForeignKey(
        "TrainingRun", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    promoted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "kind", "version"], name="modelversion_unique_version"),
            models.UniqueConstraint(
                fields=["tenant", "kind"], condition=Q(status="serving"), name="modelversion_one_serving"
            ),
        ]
        ordering = ["-version"]


class RunStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


ACTIVE_RUN_STATUSES = (RunStatus.QUEUED, RunStatus.RUNNING)


class RunTrigger(models.TextChoices):
    MANUAL = "manual", _("Manual")
    SCHEDULED = "scheduled", _("Scheduled")


class TrainingRun(TenantOwnedModel):
    kind = models.CharField(max_length=20, default="intent")
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.QUEUED)
    stage = models.CharField(max_length=40, blank=True)
    step = models.PositiveIntegerField(default=0)
    total_steps = models.PositiveIntegerField(default=0)
    loss = models.FloatField(null=True, blank=True)
    cancel_requested = models.BooleanField(default=False)
    model_version = models.ForeignKey(ModelVersion, on_delete=models.SET_NULL, null=True, blank=True)
    message = models.TextField(blank=True)
    trigger = models.CharField(max_length=10, choices=RunTrigger.choices, default=RunTrigger.MANUAL)
    # Bumped by every progress report; a running run whose heartbeat is old belongs to
    # a worker that died (ml.training.reap_stale_runs marks it failed).
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["tenant", "created_at"])]
        constraints = [
            # Two retrains of one tenant never run at once.
            models.UniqueConstraint(
                fields=["tenant", "kind"], condition=Q(status__in=ACTIVE_RUN_STATUSES), name="trainingrun_one_active"
            ),
        ]


# --- learning loop: what chat hands over as plain data (issue 6) -------------------------------
# Every text below is redacted (ml.learning.redact) before it is stored; chat ids are plain
# integers (ml never imports chat). ml.api.forget_conversations removes a deleted visitor's
# conversations' rows (chat calls it when it deletes a visitor).


class ExampleSource(models.TextChoices):
    RELABEL = "relabel", _("Agent relabel")
    CONFIRMED = "confirmed", _("Confirmed bot turn")


class TrainingExample(TenantOwnedModel):
    """A labelled visitor message (beyond the admin's IntentExamples)."""

    text = models.CharField(max_length=1000)
    label = models.CharField(max_length=80)  # an intent name, or "out_of_scope"
    source = models.CharField(max_length=10, choices=ExampleSource.choices)
    message_id = models.BigIntegerField(null=True, blank=True)
    conversation_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["tenant", "created_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "source", "message_id"], condition=Q(message_id__isnull=False),
                name="trainingexample_one_per_message",
            ),
        ]


class FeedbackKind(models.TextChoices):
    THUMBS_UP = "thumbs_up", _("Thumbs up")
    THUMBS_DOWN = "thumbs_down", _("Thumbs down")
    RELABEL = "relabel", _("Intent relabelled")
    WRONG = "wrong", _("Answer marked wrong")
    CORRECTED = "corrected", _("Answer corrected")
    CSAT = "csat", _("CSAT")


class Feedback(TenantOwnedModel):
    kind = models.CharField(max_length=12, choices=FeedbackKind.choices)
    message_id = models.BigIntegerField(null=True, blank=True)
    conversation_id = models.BigIntegerField(null=True, blank=True)
    text = models.TextField(blank=True)  # the visitor message (redacted)
    label = models.CharField(max_length=80, blank=True)
    correction = models.TextField(blank=True)  # the corrected answer (redacted)
    value = models.IntegerField(null=True, blank=True)  # thumbs +1/-1, CSAT 1..5
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["tenant", "created_at"])]


class AnalyzedMessage(TenantOwnedModel):
    """What the serving model decided for one visitor message: the replay input."""

    message_id = models.BigIntegerField()
    conversation_id = models.BigIntegerField()
    text = models.CharField(max_length=1000)
    intent = models.CharField(max_length=80, blank=True)
    confidence = models.FloatField(default=0)
    action = models.CharField(max_length=10, default="answer")
    handoff_reason = models.CharField(max_length=40, blank=True)
    model_version = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["tenant", "conversation_id"]), models.Index(fields=["tenant", "created_at"])]
        constraints = [models.UniqueConstraint(fields=["tenant", "message_id"], name="analyzedmessage_unique")]


class UnansweredQuestion(TenantOwnedModel):
    """A visitor question the bot handed off or could not answer: knowledge-gap input."""

    message_id = models.BigIntegerField(null=True, blank=True)
    conversation_id = models.BigIntegerField(null=True, blank=True)
    text = models.CharField(max_length=1000)
    reason = models.CharField(max_length=40, blank=True)
    # MiniLM vector (float32, L2-normalised) when the inference worker had it at hand;
    # the gaps page encodes the missing ones.
    embedding = models.BinaryField(blank=True, default=b"")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["tenant", "created_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "message_id"], condition=Q(message_id__isnull=False), name="unanswered_unique_message"
            ),
        ]


class SuggestionStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    ACCEPTED = "accepted", _("Accepted")
    REJECTED = "rejected", _("Rejected")


class SuggestedArticle(TenantOwnedModel):
    """A human agent's answer to a handed-off question, offered to an admin as an article."""

    question = models.CharField(max_length=1000)
    answer = models.TextField()
    conversation_id = models.BigIntegerField(null=True, blank=True)
    message_id = models.BigIntegerField(null=True, blank=True)  # the agent's answer message
    status = models.CharField(max_length=10, choices=SuggestionStatus.choices, default=SuggestionStatus.PENDING)
    article = models.ForeignKey(KnowledgeArticle, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["tenant", "status", "created_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "message_id"], condition=Q(message_id__isnull=False), name="suggested_unique_message"
            ),
        ]


# --- learned retrieval (issue 12) ----------------------------------------------------------------


class RetrievalPairSource(models.TextChoices):
    THUMBS_UP = "thumbs_up", _("Thumbs up on a cited answer")
    SOLVED = "solved", _("\"This solved my problem\"")
    AGENT_ACCEPTED = "agent_accepted", _("Agent accepted a suggested article")
    FAQ_IMPORT = "faq_import", _("Imported FAQ question")
    RELABEL = "relabel", _("Agent relabel")


class RetrievalPair(TenantOwnedModel):
    """A visitor question (redacted) confirmed to be answered by an article: the training
    data of the tenant's retrieval model (ml.retrieval_training)."""

    question = models.CharField(max_length=1000)
    article = models.ForeignKey(KnowledgeArticle, on_delete=models.CASCADE, related_name="+")
    source = models.CharField(max_length=16, choices=RetrievalPairSource.choices)
    message_id = models.BigIntegerField(null=True, blank=True)
    conversation_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["tenant", "created_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "source", "message_id"], condition=Q(message_id__isnull=False),
                name="retrievalpair_one_per_message",
            ),
        ]
