"""Issue 9 #6 (the visitor's side): a message whose reply does not come is not left in
silence. The respond job went to the broker (real Redis) but no inference worker is there
to take it, as after a lost worker. Beat's outbox sweep tells the visitor "still working
on it" after KEFU_BOT_NOTICE_AFTER_S and hands the conversation to a person with reason
`bot_timeout` after KEFU_BOT_REPLY_DEADLINE_S; a late reply is then dropped (one bot reply).

Before the fix nothing watched for a missing reply: the visitor waited forever.
"""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.utils import timezone

from chat import events, services
from chat.models import Conversation, Message, RespondJob
from chat.services import outbox
from config.celery import app as celery_app
from tenants import services as tenant_services

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def broker_without_worker(settings):
    if not settings.REDIS_URL:
        pytest.skip("needs REDIS_URL (make test sets it)")
    settings.KEFU_TASK_MODE = "celery"
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    settings.KEFU_BOT_NOTICE_AFTER_S = 5
    settings.KEFU_BOT_REPLY_DEADLINE_S = 60
    celery_app.control.purge()
    yield
    celery_app.control.purge()  # the job no worker took


def age(tenant, seconds: int) -> None:
    RespondJob.objects.for_tenant(tenant).update(created_at=timezone.now() - dt.timedelta(seconds=seconds))


def test_06_no_reply_notice_then_bot_timeout_handoff(team_a, broker_without_worker):
    widget, _secret = tenant_services.create_widget(actor=team_a.owner, name="W", allowed_origins="https://s.example")
    contact = services.resolve_visitor(widget=widget)
    posted = services.send_visitor_message(contact=contact, body="Where is my order?", client_msg_id="t-1")
    jobs = RespondJob.objects.for_tenant(team_a.tenant).filter(message_id=posted.message.pk)
    deadline = time.monotonic() + 10
    while not jobs.filter(sent_at__isnull=False).exists():  # the kick's thread sends it after the commit
        assert time.monotonic() < deadline, "the kick sent the job to the broker"
        time.sleep(0.05)

    with events.collect() as box:
        assert outbox.sweep()["noticed"] == 0  # too early
        age(team_a.tenant, 6)
        assert outbox.sweep()["noticed"] == 1
        assert outbox.sweep()["noticed"] == 0  # told once
    notices = [e["payload"] for _g, e in box if e["payload"]["type"] == "notice"]
    assert [(n["code"], n["reply_to"]) for n in notices] == [("bot_delayed", posted.message.pk)]
    assert notices[0]["message"]

    age(team_a.tenant, 61)
    assert outbox.sweep()["handed_off"] == 1
    conv = Conversation.objects.for_tenant(team_a.tenant).get(pk=posted.conversation.pk)
    assert (conv.handled_by, conv.handoff_reason) == ("human", "bot_timeout")
    bot = Message.objects.for_tenant(team_a.tenant).filter(sender="bot")
    assert [m.reply_to_id for m in bot] == [posted.message.pk]
    assert not RespondJob.objects.for_tenant(team_a.tenant).exists()

    # The worker that finally runs the lost task posts nothing more.
    from chat.tasks import respond

    assert respond.apply(args=(team_a.tenant.pk, posted.message.pk)).get() == "skipped"
    assert bot.count() == 1
