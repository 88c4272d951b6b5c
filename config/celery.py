"""The Celery app: three queues and the beat schedule (DESIGN.md, "Processes").

inference: one process per GPU/CPU slot, model loaded once per process (chat replies,
           embeddings); training: per-tenant retraining; default: everything else.
"""

import logging
import os

from celery import Celery
from celery.schedules import crontab
from celery.signals import worker_process_init
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("kefu")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = (Queue("default"), Queue("inference"), Queue("training"))
app.conf.task_default_queue = "default"
app.conf.task_routes = {
    "chat.tasks.respond": {"queue": "inference"},
    "ml.tasks.embed_article": {"queue": "inference"},
    "ml.tasks.retrain_tenant": {"queue": "training"},
}
app.conf.beat_schedule = {
    # Looks at every tenant's schedule and enqueues retrain_tenant where due and worth it.
    "schedule-retraining": {"task": "ml.tasks.schedule_retraining", "schedule": crontab(minute=7)},
    # Wakes snoozed conversations whose time has come; resolves idle bot conversations.
    "chat-housekeeping": {"task": "chat.tasks.housekeeping", "schedule": 60.0},
    # Keeps dashboard roll-ups fresh (incremental: only conversations with new events).
    "refresh-dashboard-rollups": {"task": "chat.reporting.tasks.refresh_rollups", "schedule": 300.0},
    # Deletes visitor data older than each tenant's retention_days (issue 9 #12).
    "purge-expired-visitor-data": {"task": "chat.tasks.purge_expired_data", "schedule": crontab(hour=3, minute=17)},
}
app.autodiscover_tasks()


@worker_process_init.connect
def warm_up_inference_process(**_kwargs: object) -> None:
    """Inference processes (KEFU_WARM_UP=1, see platform/Procfile) load their models once,
    at start, so the first visitor does not wait for them."""
    if os.environ.get("KEFU_WARM_UP") != "1":
        return
    from ml.api import warm_up

    logging.getLogger(__name__).info("warm-up: %s", warm_up())
