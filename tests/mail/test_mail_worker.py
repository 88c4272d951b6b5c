"""Mail is sent by a real Celery worker that consumes only the `default` queue; a second
delivery of the same task (a redelivery after a lost ack) sends nothing more."""

from __future__ import annotations

import time

import pytest

from mail.models import MailKind, MailStatus, OutboundMail
from mail.tasks import send_mail
from tenants import services as tenant_services
from tests.processes import celery_worker

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]


def _wait(predicate, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError("timed out")


def test_invitation_mail_goes_through_the_default_queue_once(smtp, team_a, tmp_path, settings):
    settings.KEFU_TASK_MODE = "celery"
    env = {"EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend", "EMAIL_HOST": "127.0.0.1",
           "EMAIL_PORT": str(smtp.port), "DEFAULT_FROM_EMAIL": "Kefu <support@kefu.test>"}
    with celery_worker(tmp_path, queues="default", **env):
        _invitation, token = tenant_services.create_invitation(actor=team_a.owner, role="agent", email="hire@agent.test")
        _wait(lambda: smtp.to("hire@agent.test"), 60)
        row = OutboundMail.objects.for_tenant(team_a.tenant).get(kind=MailKind.INVITATION)
        send_mail.apply_async(args=[row.pk])  # delivered again
        _wait(lambda: OutboundMail.objects.for_tenant(team_a.tenant).get(pk=row.pk).status == MailStatus.SENT, 10)
        time.sleep(3)
    (mail,) = smtp.to("hire@agent.test")
    assert f"/invite/{token}/" in mail.body and len(smtp.received) == 1
