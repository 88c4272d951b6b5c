"""Retention for what ml keeps of visitors (issue 9 #12): learning rows with their
redacted texts and cached vectors (UnansweredQuestion.embedding) older than a tenant's
retention are deleted. Deletion of one visitor's rows: ml.feedback.forget_conversations."""

from __future__ import annotations

from datetime import datetime


def forget_learning_before(*, tenant_id: int, before: datetime) -> int:
    """Delete the tenant's learning rows created before `before`; returns how many."""
    from ml.models import AnalyzedMessage, Feedback, SuggestedArticle, TrainingExample, UnansweredQuestion

    deleted = 0
    for model in (AnalyzedMessage, Feedback, TrainingExample, UnansweredQuestion, SuggestedArticle):
        deleted += model.objects.for_tenant(tenant_id).filter(created_at__lt=before).delete()[0]
    return deleted
