"""Reads for the knowledge base, intents, AI policy, actions and the model registry.
Every function takes the tenant explicitly."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet

from ml.models import (
    ACTIVE_RUN_STATUSES,
    Action,
    AIPolicy,
    ArticleStatus,
    Intent,
    IntentExample,
    KnowledgeArticle,
    KnowledgeChunk,
    KnowledgeImport,
    ModelVersion,
    RunStatus,
    TrainingRun,
)
from tenants.models import Tenant


def article_list(*, tenant: Tenant, query: str = "", status: str = "") -> QuerySet[KnowledgeArticle]:
    qs = KnowledgeArticle.objects.for_tenant(tenant).filter(deleted_at__isnull=True)
    if status:
        qs = qs.filter(status=status)
    if query:
        qs = qs.filter(Q(title__icontains=query) | Q(body__icontains=query))
    return qs.order_by("-updated_at")


def article_get(*, tenant: Tenant, article_id: int) -> KnowledgeArticle | None:
    return KnowledgeArticle.objects.for_tenant(tenant).filter(pk=article_id, deleted_at__isnull=True).first()


def public_article(*, tenant: Tenant, article_id: int) -> KnowledgeArticle | None:
    """A published article as a visitor may see it (citation links)."""
    return (
        KnowledgeArticle.objects.for_tenant(tenant)
        .filter(pk=article_id, status=ArticleStatus.PUBLISHED, deleted_at__isnull=True)
        .first()
    )


def live_articles(*, tenant: Tenant | int) -> QuerySet[KnowledgeArticle]:
    """Published, not deleted: the only articles the bot may use."""
    chunks = KnowledgeChunk.objects.for_tenant(tenant).order_by("position")
    return (
        KnowledgeArticle.objects.for_tenant(tenant)
        .filter(status=ArticleStatus.PUBLISHED, deleted_at__isnull=True)
        .prefetch_related(Prefetch("chunks", queryset=chunks))
        .order_by("pk")
    )


def import_list(*, tenant: Tenant, limit: int = 10) -> QuerySet[KnowledgeImport]:
    return KnowledgeImport.objects.for_tenant(tenant).defer("items").order_by("-created_at")[:limit]


def intent_list(*, tenant: Tenant | int) -> QuerySet[Intent]:
    examples = IntentExample.objects.for_tenant(tenant).order_by("pk")
    return (
        Intent.objects.for_tenant(tenant)
        .prefetch_related(Prefetch("examples", queryset=examples))
        .annotate(example_count=Count("examples"))
        .order_by("name")
    )


def training_examples(*, tenant: Tenant | int) -> list[tuple[str, str]]:
    """(intent name, text) pairs: the starting intent model's training data."""
    return list(
        IntentExample.objects.for_tenant(tenant).select_related("intent").order_by("pk").values_list("intent__name", "text")
    )


def policy_get(*, tenant: Tenant | int) -> AIPolicy:
    """The tenant's policy (defaults, unsaved, when none was stored yet)."""
    policy = AIPolicy.objects.for_tenant(tenant).first()
    if policy is None:
        tenant_id = tenant if isinstance(tenant, int) else tenant.pk
        policy = AIPolicy(tenant_id=tenant_id)
    return policy


def policy_dict(*, tenant: Tenant | int) -> dict[str, Any]:
    p = policy_get(tenant=tenant)
    return {
        **(p.agent_settings or {}),
        "confidence_threshold": p.confidence_threshold,
        "handoff_on_out_of_scope": p.handoff_on_out_of_scope,
        "negative_streak": p.negative_streak,
        "max_bot_turns": p.max_bot_turns,
        "persona": p.persona,
        "guardrails": p.guardrails,
        "supported_languages": list(p.supported_languages or ["en"]),
        "unsupported_language": p.unsupported_language,
        "use_generator": p.use_generator,
    }


def action_list(*, tenant: Tenant) -> QuerySet[Action]:
    return Action.objects.for_tenant(tenant).order_by("name")


def active_actions(*, tenant: Tenant | int) -> QuerySet[Action]:
    return Action.objects.for_tenant(tenant).filter(is_active=True).order_by("name")


def model_versions(*, tenant: Tenant, kind: str = "intent") -> QuerySet[ModelVersion]:
    return ModelVersion.objects.for_tenant(tenant).filter(kind=kind).order_by("-version")


def latest_training_run(*, tenant: Tenant, kind: str = "intent") -> TrainingRun | None:
    return TrainingRun.objects.for_tenant(tenant).filter(kind=kind).order_by("-created_at").first()


# --- learning loop ------------------------------------------------------------------------------


def training_run_dict(run: TrainingRun | None) -> dict[str, Any]:
    """The progress endpoint's payload (polled every second by the portal)."""
    if run is None:
        return {"run": None}
    total = run.total_steps or 0
    percent = int(100 * run.step / total) if total else (100 if run.status == RunStatus.DONE else 0)
    return {"run": {"id": run.pk, "status": run.status, "stage": run.stage, "step": run.step, "total_steps": total,
                    "percent": min(100, percent), "loss": run.loss, "message": run.message,
                    "cancel_requested": run.cancel_requested, "trigger": run.trigger,
                    "active": run.status in ACTIVE_RUN_STATUSES,
                    "model_version": run.model_version.version if run.model_version_id and run.model_version else None,
                    "heartbeat_at": run.heartbeat_at.isoformat() if run.heartbeat_at else None}}


def model_version_get(*, tenant: Tenant, version_id: int) -> ModelVersion | None:
    return ModelVersion.objects.for_tenant(tenant).filter(pk=version_id).first()


def recent_analyzed_messages(*, tenant: Tenant, limit: int = 50) -> list[Any]:
    from ml.models import AnalyzedMessage

    return list(AnalyzedMessage.objects.for_tenant(tenant).order_by("-created_at")[:limit])


def pending_suggestions(*, tenant: Tenant) -> list[Any]:
    from ml.models import SuggestedArticle, SuggestionStatus

    return list(SuggestedArticle.objects.for_tenant(tenant).filter(status=SuggestionStatus.PENDING)
                .order_by("-created_at")[:100])


def knowledge_gaps(*, tenant: Tenant | int, limit: int = 2000, similarity: float = 0.6,
                   min_count: int = 2) -> list[dict[str, Any]]:
    """Unanswered questions clustered by embedding (ml.learning.gaps), largest first.
    Missing vectors are encoded here (lazily imports the encoder) and stored."""
    import numpy as np

    from ml.learning.gaps import cluster_questions
    from ml.models import UnansweredQuestion

    rows = list(UnansweredQuestion.objects.for_tenant(tenant).order_by("-created_at")[:limit])
    if not rows:
        return []
    missing = [q for q in rows if not q.embedding]
    if missing:
        from ml.serving import encode

        vecs = encode([q.text for q in missing])
        for q, v in zip(missing, vecs, strict=True):
            q.embedding = np.asarray(v, dtype=np.float32).tobytes()
        UnansweredQuestion.objects.for_tenant(tenant).bulk_update(missing, ["embedding"])
    matrix = np.stack([np.frombuffer(bytes(q.embedding), dtype=np.float32) for q in rows])
    clusters = cluster_questions([{"text": q.text, "id": q.pk, "conversation_id": q.conversation_id} for q in rows],
                                 embeddings=matrix, similarity=similarity, min_count=min_count)
    return [c.to_dict() for c in clusters]
