"""The beat schedule: what runs periodically, and how often. Celery beat reads it
(config/celery.py) and so does the embedded server's scheduler thread
(config/embedded_scheduler.py): one list, the same task code, the same periods."""

from __future__ import annotations

from typing import Any

from celery.schedules import crontab
from django.conf import settings


def beat_schedule() -> dict[str, dict[str, Any]]:
    return {
        # Looks at every tenant's schedule and enqueues retrain_tenant where due and worth it.
        "schedule-retraining": {"task": "ml.tasks.schedule_retraining", "schedule": crontab(minute=7)},
        # Wakes snoozed conversations whose time has come; resolves idle bot conversations.
        "chat-housekeeping": {"task": "chat.tasks.housekeeping", "schedule": float(settings.KEFU_HOUSEKEEPING_S)},
        # Keeps dashboard roll-ups fresh (incremental: only conversations with new events).
        "refresh-dashboard-rollups": {
            "task": "chat.reporting.tasks.refresh_rollups",
            "schedule": float(settings.KEFU_ROLLUP_REFRESH_S),
        },
        # Deletes visitor data older than each tenant's retention_days (issue 9 #12).
        "purge-expired-visitor-data": {"task": "chat.tasks.purge_expired_data", "schedule": crontab(hour=3, minute=17)},
        # Sends respond jobs the on-commit kick could not (broker down, web process died), tells
        # waiting visitors "still working on it", hands overdue ones to a person.
        "chat-outbox-sweep": {"task": "chat.tasks.sweep_outbox", "schedule": float(settings.KEFU_OUTBOX_SWEEP_S)},
        # Sends due mail: replies the visitor did not read in time, retries, lost tasks.
        "mail-sweep": {"task": "mail.tasks.sweep_mail", "schedule": float(settings.KEFU_MAIL_SWEEP_S)},
    }
