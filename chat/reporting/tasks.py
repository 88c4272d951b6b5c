from __future__ import annotations

from celery import shared_task

from chat.reporting import rollups


@shared_task(name="chat.reporting.tasks.refresh_rollups", ignore_result=True)
def refresh_rollups() -> int:
    """Beat (every 300 s): facts and daily roll-ups of every tenant with reporting events."""
    return rollups.refresh_all()
