"""Mail tasks, on the `default` queue (config/celery.py's default)."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from mail import outbox


@shared_task(
    name="mail.tasks.send_mail",
    autoretry_for=(Exception,),
    retry_backoff=5,
    retry_backoff_max=600,
    max_retries=settings.KEFU_MAIL_MAX_ATTEMPTS,
    acks_late=True,
)
def send_mail(mail_id: int) -> str:
    """Idempotent: a retried or redelivered call finds the row sent and returns."""
    return outbox.deliver(mail_id=mail_id)


@shared_task(name="mail.tasks.sweep_mail")
def sweep_mail() -> int:
    return outbox.sweep()
