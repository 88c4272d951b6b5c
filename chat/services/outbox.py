"""The respond outbox (issue 9 #6, #7): visitor messages the bot owes a reply.

A row (chat.RespondJob) is written in the same statement as the visitor message (the hot
path's CTE, `respond_job_cte`) or in the same transaction (`add_respond_job`), so a broker
that is down at the commit loses nothing. From there:

- `kick` after the commit and `sweep` from beat send due rows to the broker (`dispatch`,
  `SELECT ... FOR UPDATE SKIP LOCKED`, marked sent in the same transaction); a broker error
  puts the row back with exponential backoff;
- at most KEFU_RESPOND_PER_TENANT rows of one tenant are on the broker at once, the rest
  wait here: one tenant's burst never queues in front of another tenant's first reply;
- chat.tasks.respond calls `finish` when it is done with a message (posted, skipped or
  dropped), which deletes the row and sends that tenant's next one;
- `sweep` also tells visitors still waiting after KEFU_BOT_NOTICE_AFTER_S "still working
  on it", and hands rows older than KEFU_BOT_REPLY_DEADLINE_S to a person (bot_timeout).
"""

from __future__ import annotations

import logging
import random
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from chat import events
from chat.models import Conversation, HandledBy, Message, RespondJob
from ml.api import BotResult, HandoffReason, model_error_result

logger = logging.getLogger(__name__)
# pg_advisory_xact_lock(key, tenant_id): one dispatcher per tenant at a time, so the
# in-flight count it reads is the one it writes.
_DISPATCH_LOCK_KEY = 0x6B6F
_MAX_BACKOFF_S = 60
_SWEEP_BATCH = 200


def respond_job_cte(*, conversation: str, message: str) -> tuple[str, list[str]]:
    """The hot path's `INSERT INTO chat_respondjob ... SELECT ... FROM <conversation>,
    <message>` (CTE names), for bot-handled conversations only; `%(now)s` is the caller's."""
    values = {
        "tenant_id": f"{conversation}.tenant_id",
        "message_id": f"{message}.id",
        "conversation_id": f"{conversation}.id",
        "created_at": "%(now)s",
        "due_at": "%(now)s",
        "attempts": "0",
        "sent_at": "NULL",
        "noticed_at": "NULL",
        "last_error": "''",
    }
    cols = [f.column for f in RespondJob._meta.concrete_fields if not f.primary_key]
    missing = set(cols) - set(values)
    if missing:  # a new column needs a value here
        raise RuntimeError(f"respond_job_cte: no value for {sorted(missing)}")
    sql = (
        f"INSERT INTO {RespondJob._meta.db_table} ({', '.join(connection.ops.quote_name(c) for c in cols)}) "  # noqa: S608
        f"SELECT {', '.join(values[c] for c in cols)} FROM {conversation}, {message} "
        f"WHERE {conversation}.handled_by = '{HandledBy.BOT.value}'"
    )
    return sql, cols


def add_respond_job(*, conversation: Conversation, message: Message) -> None:
    """The slow path's (and SQLite's) outbox row, inside the caller's transaction."""
    if conversation.handled_by != HandledBy.BOT:
        return
    now = message.created_at or timezone.now()
    RespondJob.objects.create(
        tenant_id=conversation.tenant_id, message_id=message.pk, conversation_id=conversation.pk,
        created_at=now, due_at=now,
    )


def kick(*, tenant_id: int) -> None:
    """After the commit, send this tenant's due rows from a background thread: the visitor's
    ack does not wait for it (measured: the dispatch transaction inline doubled the socket's
    per-message time). Best effort: beat's sweep sends what this does not."""
    transaction.on_commit(lambda: _kicker.submit(tenant_id))


class _Kicker:
    """One thread per process; a tenant already waiting for a kick is not queued twice."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: set[int] = set()
        self._pool: ThreadPoolExecutor | None = None

    def submit(self, tenant_id: int) -> None:
        with self._lock:
            if tenant_id in self._pending:
                return
            self._pending.add(tenant_id)
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kefu-outbox")
            pool = self._pool
        pool.submit(self._run, tenant_id)

    def _run(self, tenant_id: int) -> None:
        with self._lock:
            self._pending.discard(tenant_id)
        close_old_connections()
        try:
            dispatch(tenant_id=tenant_id)
        except Exception:  # noqa: BLE001 - the row stays; beat's sweep sends it
            logger.warning("outbox kick failed for tenant %s; the sweep will retry", tenant_id, exc_info=True)
        finally:
            close_old_connections()


_kicker = _Kicker()


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(_MAX_BACKOFF_S, 2 ** min(attempts, 6)) * random.uniform(0.5, 1.0))  # noqa: S311


def _lock_tenant(tenant_id: int) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # Losing "sent" in a crash only means sending again (respond is idempotent), so
            # this transaction does not wait for the WAL flush.
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_DISPATCH_LOCK_KEY, tenant_id])


def dispatch(*, tenant_id: int) -> int:
    """Send this tenant's due rows up to its in-flight cap; returns how many were sent."""
    from chat.tasks import respond
    from tenants.dispatch import send

    now = timezone.now()
    sent: list[int] = []
    with transaction.atomic():
        _lock_tenant(tenant_id)
        jobs = RespondJob.objects.for_tenant(tenant_id)
        room = settings.KEFU_RESPOND_PER_TENANT - jobs.filter(sent_at__isnull=False).count()
        if room <= 0:
            return 0
        due = list(
            jobs.filter(sent_at__isnull=True, due_at__lte=now)
            .order_by("id")
            .select_for_update(skip_locked=True)
            .values_list("id", "message_id", "attempts")[:room]
        )
        for job_id, message_id, attempts in due:
            try:
                send(respond, tenant_id, message_id)
            except Exception as exc:  # noqa: BLE001 - broker down: retry this row later
                logger.warning("outbox: broker refused respond(%s, %s): %s", tenant_id, message_id, exc)
                jobs.filter(pk=job_id).update(
                    attempts=F("attempts") + 1, due_at=now + _backoff(attempts + 1), last_error=str(exc)[:200]
                )
                break
            sent.append(job_id)
        if sent:
            jobs.filter(pk__in=sent).update(sent_at=now, attempts=F("attempts") + 1, last_error="")
    return len(sent)


def finish(*, tenant_id: int, message_id: int) -> None:
    """respond is done with this message: drop its row and send the tenant's next one."""
    RespondJob.objects.for_tenant(tenant_id).filter(message_id=message_id).delete()
    try:
        dispatch(tenant_id=tenant_id)
    except Exception:  # noqa: BLE001 - the sweep sends it
        logger.warning("outbox: dispatch after respond failed for tenant %s", tenant_id, exc_info=True)


def _notice_waiting(now: datetime) -> int:
    cutoff = now - timedelta(seconds=settings.KEFU_BOT_NOTICE_AFTER_S)
    # Cross-tenant by design: the sweep serves every tenant.
    waiting = list(
        RespondJob.all_tenants.filter(noticed_at__isnull=True, created_at__lte=cutoff)
        .values_list("id", "tenant_id", "message_id", "conversation_id", "conversation__contact_id")[:_SWEEP_BATCH]
    )
    for job_id, tenant_id, message_id, conversation_id, contact_id in waiting:
        updated = RespondJob.objects.for_tenant(tenant_id).filter(pk=job_id, noticed_at__isnull=True).update(noticed_at=now)
        if updated:
            events.send_now(
                events.visitor_group(tenant_id, contact_id),
                {"type": "notice", "code": "bot_delayed", "conversation_id": conversation_id, "reply_to": message_id,
                 "message": str(_("Still working on it…"))},
            )
    return len(waiting)


def timeout_result() -> BotResult:
    """The bot's reply when none came in time: a handoff with reason bot_timeout."""
    return {
        **model_error_result(why="bot_timeout"),
        "text": str(_("Sorry, this is taking me too long. I'm passing your conversation to a person.")),
        "handoff_reason": HandoffReason.BOT_TIMEOUT,
        "explanation": {"decision": {"action": "handoff", "reason": "bot_timeout", "why": "no reply in time"}},
    }


def _hand_off_overdue(now: datetime) -> int:
    from chat.services.bot import post_bot_result

    cutoff = now - timedelta(seconds=settings.KEFU_BOT_REPLY_DEADLINE_S)
    overdue = list(RespondJob.all_tenants.filter(created_at__lte=cutoff).values_list("tenant_id", "message_id")[:_SWEEP_BATCH])
    for tenant_id, message_id in overdue:
        try:
            post_bot_result(tenant_id=tenant_id, inbound_id=message_id, result=timeout_result())
        except Exception:  # noqa: BLE001 - one row's failure must not stop the sweep
            logger.exception("outbox: bot_timeout handoff failed for message %s (tenant %s)", message_id, tenant_id)
            continue
        RespondJob.objects.for_tenant(tenant_id).filter(message_id=message_id).delete()
    return len(overdue)


def _resend_lost(now: datetime) -> int:
    """Rows sent longer ago than a redelivery takes were lost with the broker's data (a Redis
    restart without persistence): send them again; respond is idempotent."""
    cutoff = now - timedelta(seconds=settings.KEFU_BROKER_VISIBILITY_TIMEOUT + 2 * settings.KEFU_OUTBOX_SWEEP_S + 10)
    return RespondJob.all_tenants.filter(sent_at__lte=cutoff).update(sent_at=None, due_at=now)


def sweep() -> dict[str, int]:
    """Beat, every KEFU_OUTBOX_SWEEP_S: send due rows (and lost ones again), tell waiting
    visitors, hand off overdue ones."""
    now = timezone.now()
    _resend_lost(now)
    tenants = sorted(
        set(RespondJob.all_tenants.filter(sent_at__isnull=True, due_at__lte=now).values_list("tenant_id", flat=True))
    )
    sent = 0
    for tenant_id in tenants:
        try:
            sent += dispatch(tenant_id=tenant_id)
        except Exception:  # noqa: BLE001 - the next sweep retries
            logger.exception("outbox: dispatch failed for tenant %s", tenant_id)
    return {"sent": sent, "noticed": _notice_waiting(now), "handed_off": _hand_off_overdue(now)}
