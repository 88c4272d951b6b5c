"""Celery tasks of ml. Ids as arguments, tenant first; one call into services each.

Routes (config/celery.py): embed_article and run_import -> embedding (their own worker, so
an import never queues in front of a chat reply), retrain_tenant -> training. All are
idempotent on redelivery (a killed worker's task runs again after the broker's visibility
timeout): embed_article checks the article's revision, run_import resumes from `processed`,
retrain_tenant claims its run.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import InterfaceError, OperationalError

logger = logging.getLogger(__name__)


# A PostgreSQL restart mid-task: again on a fresh connection, with backoff (issue 9 #16).
@shared_task(
    name="ml.tasks.embed_article", acks_late=True, max_retries=5,
    autoretry_for=(OperationalError, InterfaceError), retry_backoff=2, retry_backoff_max=60, retry_jitter=True,
)
def embed_article(tenant_id: int, article_id: int) -> int:
    from ml import services

    return services.embed_article(tenant_id=tenant_id, article_id=article_id)


@shared_task(name="ml.tasks.run_import", acks_late=True)
def run_import(tenant_id: int, import_id: int) -> None:
    from ml import services

    services.run_import(tenant_id=tenant_id, import_id=import_id)


@shared_task(name="ml.tasks.retrain_tenant", acks_late=True)
def retrain_tenant(tenant_id: int, run_id: int | None = None) -> int | None:
    from ml import training

    return training.retrain_tenant(tenant_id=tenant_id, run_id=run_id)


@shared_task(name="ml.tasks.retrain_retrieval", acks_late=True)
def retrain_retrieval(tenant_id: int, run_id: int | None = None) -> int | None:
    from ml import retrieval_training

    return retrieval_training.retrain_retrieval(tenant_id=tenant_id, run_id=run_id)


@shared_task(name="ml.tasks.schedule_retraining")
def schedule_retraining() -> int:
    from ml import training

    return training.schedule_retraining()
