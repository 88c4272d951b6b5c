"""Celery tasks of ml. Ids as arguments, tenant first; one call into services each.

Routes (config/celery.py): embed_article -> inference, retrain_tenant -> training.
"""

from __future__ import annotations

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(name="ml.tasks.embed_article", acks_late=True, max_retries=3, default_retry_delay=10)
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


@shared_task(name="ml.tasks.schedule_retraining")
def schedule_retraining() -> int:
    from ml import training

    return training.schedule_retraining()
