"""Issue 9 #7: tenant B's 1,500-row knowledge import and a burst of 30 visitor messages do
not delay tenant A's reply beyond the stated bound.

Real Celery workers as in platform/Procfile: `worker-inference` (-Q inference) and
`worker-embedding` (-Q embedding, the real MiniLM encoder embedding B's articles). Plumbing
for the replies: the analyzer is a deterministic fake that takes 0.5 s per reply
(tests/faults/paced_analyzer.py); queueing, not ML, is under test.

Bound (platform/SCALING.md, "Task delivery"): a tenant's reply waits for at most
KEFU_RESPOND_PER_TENANT respond tasks of each other tenant with work queued, plus its own:
here (2 x 1 + 1) x 0.5 s = 1.5 s of analyzer time; asserted with slack for this shared
2-core machine as 6 s.

Before the fix embed_article shared the FIFO `inference` queue with respond and B's burst
went to the broker whole: A's reply waited behind ~1,500 embeddings and 30 of B's replies
(measured in the red-team run: 0.8 s -> 45.6 s); this test timed out.
"""

from __future__ import annotations

import time

import pytest
from django.conf import settings

from chat import services
from chat.models import Message
from ml import services as ml_services
from ml.models import ImportStatus, KnowledgeArticle, KnowledgeImport
from tenants import services as tenant_services
from tests.processes import celery_worker

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]
IMPORT_ROWS, BURST, REPLY_S, BOUND_S = 1500, 30, 0.5, 6.0


def import_csv(rows: int) -> bytes:
    lines = ["question,answer"] + [f"How do I return item {i}?,Send item {i} back within 30 days for a refund." for i in range(rows)]
    return "\n".join(lines).encode()


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def visitor(team, n: int):
    widget, _secret = tenant_services.create_widget(actor=team.owner, name=f"W{n}", allowed_origins="https://s.example")
    return services.resolve_visitor(widget=widget)


def replied(tenant, message_id: int) -> bool:
    return Message.objects.for_tenant(tenant).filter(sender="bot", reply_to_id=message_id).exists()


def test_07_neighbour_import_and_burst_do_not_delay_first_reply(redis_everywhere, team_a, team_b, tmp_path):
    assert settings.KEFU_RESPOND_PER_TENANT * 1 + 1 <= BOUND_S / REPLY_S
    inference_env = {"KEFU_CHAT_ANALYZER": "tests.faults.paced_analyzer.analyze_and_reply", "KEFU_TEST_ANALYZER_DELAY_S": str(REPLY_S)}
    b_widget_visitors = [visitor(team_b, 0)]
    b_widget = b_widget_visitors[0].widget
    b_visitors = b_widget_visitors + [services.resolve_visitor(widget=b_widget) for _ in range(BURST - 1)]
    a_visitor = visitor(team_a, 1)
    with (
        celery_worker(tmp_path, queues="inference", name="inference", **inference_env),
        celery_worker(tmp_path, queues="embedding", name="embedding"),
    ):
        job = ml_services.start_import(actor=team_b.admin, kind="csv", files=[("faq.csv", import_csv(IMPORT_ROWS))])
        wait_for(lambda: KnowledgeImport.objects.for_tenant(team_b.tenant).get(pk=job.pk).status == ImportStatus.DONE,
                 90, "B's import to create its articles (their embeddings are now queued)")
        wait_for(lambda: KnowledgeArticle.objects.for_tenant(team_b.tenant).filter(embedded_revision__gt=0).exists(),
                 90, "the embedding worker to be busy with B's articles")
        b_messages = [
            services.send_visitor_message(contact=v, body=f"B question {i}", client_msg_id=f"b-{i}").message.pk
            for i, v in enumerate(b_visitors)
        ]
        started = time.monotonic()
        a_message = services.send_visitor_message(contact=a_visitor, body="A question", client_msg_id="a-1").message.pk
        wait_for(lambda: replied(team_a.tenant, a_message), 60, "A's reply")
        a_latency = time.monotonic() - started
        embedded_then = KnowledgeArticle.objects.for_tenant(team_b.tenant).filter(embedded_revision__gt=0).count()
        wait_for(lambda: all(replied(team_b.tenant, m) for m in b_messages), 60, "B's replies")
    print(f"A's reply after {a_latency:.2f} s (bound {BOUND_S} s); B's articles embedded by then: {embedded_then}/{IMPORT_ROWS}")
    assert embedded_then < IMPORT_ROWS, "B's import was still embedding when A was answered"
    assert a_latency <= BOUND_S
    bot_rows = Message.objects.for_tenant(team_b.tenant).filter(sender="bot").values_list("reply_to_id", flat=True)
    assert sorted(bot_rows) == sorted(b_messages), "every one of B's messages answered exactly once"
