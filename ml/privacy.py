"""What ml keeps of visitors, for deletion and retention (issue 9 #12): learning rows keyed
by chat's conversation ids, with their redacted texts and cached vectors
(UnansweredQuestion.embedding). One visitor's rows: ml.feedback.forget_conversations;
a tenant's rows older than its retention: `forget_learning_before`."""

from __future__ import annotations

from datetime import datetime
from typing import Any


def visitor_data_models() -> tuple[Any, ...]:
    """ml's tables holding visitor texts or vectors, each with a `conversation_id`."""
    from ml.models import (
        AnalyzedMessage,
        Feedback,
        RetrievalPair,
        SuggestedArticle,
        TrainingExample,
        UnansweredQuestion,
    )

    return (AnalyzedMessage, Feedback, TrainingExample, UnansweredQuestion, SuggestedArticle, RetrievalPair)


def forget_learning_before(*, tenant_id: int, before: datetime) -> int:
    """Delete the tenant's visitor-derived learning rows created before `before` (rows with
    no conversation, e.g. retrieval pairs from an FAQ import, are the tenant's own data)."""
    deleted = 0
    for model in visitor_data_models():
        deleted += (
            model.objects.for_tenant(tenant_id)
            .filter(created_at__lt=before, conversation_id__isnull=False)
            .delete()[0]
        )
    return deleted
