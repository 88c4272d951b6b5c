"""Inference for chat: `respond` answers one inbound visitor message (queue: inference).

Idempotent on the inbound message id: `acks_late` plus the database's one-bot-reply-per-
inbound-message constraint mean a redelivered task (killed worker) posts exactly once.
The AI decision comes from `ml.api.analyze_and_reply` (plain dicts in and out); the
dotted path can be swapped with `settings.KEFU_CHAT_ANALYZER` (tests use a fake there).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.utils.module_loading import import_string

from chat import events, services
from chat.models import Contact, Conversation, HandledBy, Message, Sender
from chat.services import outbox
from ml.api import BotResult, ConversationContext, TurnInfo, check_bot_result, model_error_result

logger = logging.getLogger(__name__)
DEFAULT_ANALYZER = "ml.api.analyze_and_reply"
CONTEXT_TURNS = 20


def enqueue_respond(tenant_id: int, message_id: int) -> None:
    """After the commit, send the message's outbox row (written with the message) to the
    broker; beat's sweep sends it if this cannot (chat.services.outbox)."""
    outbox.kick(tenant_id=tenant_id)


def analyzer() -> Callable[..., BotResult]:
    return import_string(settings.KEFU_CHAT_ANALYZER)


def build_context(*, tenant_id: int, message_id: int) -> tuple[ConversationContext, int] | None:
    """The plain-data conversation for the analyzer, or None when there is nothing to do."""
    inbound = Message.objects.for_tenant(tenant_id).filter(pk=message_id, sender=Sender.VISITOR).first()
    if inbound is None:
        return None
    conv = Conversation.objects.for_tenant(tenant_id).filter(pk=inbound.conversation_id).first()
    if conv is None or conv.handled_by != HandledBy.BOT or conv.status == "resolved":
        return None
    msgs = Message.objects.for_tenant(tenant_id)
    if msgs.filter(reply_to_id=inbound.pk, sender=Sender.BOT).exists():
        return None  # answered already (redelivery)
    if msgs.filter(conversation_id=conv.pk, sender=Sender.VISITOR, seq__gt=inbound.seq).exists():
        return None  # a newer visitor message's task answers with the full context
    contact = Contact.objects.for_tenant(tenant_id).get(pk=conv.contact_id)
    recent = list(
        msgs.filter(conversation_id=conv.pk, sender__in=[Sender.VISITOR, Sender.BOT, Sender.AGENT], seq__lte=inbound.seq)
        .order_by("-seq")[:CONTEXT_TURNS]
    )
    turns: list[TurnInfo] = [{"role": m.sender, "text": m.body, "sentiment": m.sentiment} for m in reversed(recent)]
    for turn, m in zip(turns, reversed(recent), strict=True):
        if m.sender == Sender.BOT:  # what that bot turn did, as data (ml.dialogue.state)
            turn["state"] = (m.explanation or {}).get("state")
    context: ConversationContext = {
        "id": conv.pk,
        "widget_id": conv.widget_id,
        "visitor": {
            "verified": contact.verified,
            "user_id": contact.external_user_id if contact.verified else None,
            "email": contact.email,
            "attributes": contact.attributes or {},
        },
        "turns": turns,
        "bot_turns": conv.bot_turns,
        "message": {"id": inbound.pk, "text": inbound.body},
    }
    return context, conv.contact_id


@shared_task(
    name="chat.tasks.respond",
    acks_late=True,
    reject_on_worker_lost=True,  # a killed child's task goes back to the queue at once
    ignore_result=True,
    time_limit=settings.KEFU_RESPOND_TIME_LIMIT_S,  # the broker's visibility timeout is just above
    # A PostgreSQL restart drops the worker's connection mid-task (issue 9 #16): try again
    # on a fresh one (Celery's Django fixup closes the broken one after the failure).
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=1,
    retry_backoff_max=20,
    retry_jitter=True,
    max_retries=6,
)
def respond(tenant_id: int, message_id: int) -> str:
    """Answer one inbound visitor message, then clear its outbox row (and send the
    tenant's next one). Idempotent on the message id."""
    outcome = _answer(tenant_id=tenant_id, message_id=message_id)
    outbox.finish(tenant_id=tenant_id, message_id=message_id)
    return outcome


def _answer(*, tenant_id: int, message_id: int) -> str:
    built = build_context(tenant_id=tenant_id, message_id=message_id)
    if built is None:
        return "skipped"
    context, contact_id = built
    group = events.visitor_group(tenant_id, contact_id)
    stopped = threading.Event()
    streamed = False

    def on_token(text: str) -> None:
        nonlocal streamed
        if stopped.is_set() or not text:
            return
        streamed = True
        events.send_now(
            group, {"type": "chunk", "conversation_id": context["id"], "reply_to": message_id, "text": text}
        )

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kefu-analyze")
    try:
        future = pool.submit(analyzer(), tenant_id=tenant_id, conversation=context, on_token=on_token)
        result = check_bot_result(future.result(timeout=settings.KEFU_GENERATOR_TIMEOUT_S))
    except FutureTimeout:
        logger.warning("analyzer timed out for message %s (tenant %s)", message_id, tenant_id)
        result = model_error_result(why="timeout")
    except Exception as exc:  # a crash or a result chat cannot store (unknown action/reason)
        logger.exception("analyzer failed for message %s (tenant %s)", message_id, tenant_id)
        result = model_error_result(why=repr(exc))
    finally:
        stopped.set()
        pool.shutdown(wait=False)
    posted = services.post_bot_result(tenant_id=tenant_id, inbound_id=message_id, result=result)
    if posted is None and streamed:
        events.send_now(group, {"type": "stream_cancel", "conversation_id": context["id"], "reply_to": message_id})
    return "posted" if posted else "dropped"


def _tenants_with(**filters: Any) -> list[int]:
    # Cross-tenant by design: a scheduler over every tenant.
    return sorted(set(Conversation.all_tenants.filter(**filters).values_list("tenant_id", flat=True).distinct()))


@shared_task(name="chat.tasks.wake_snoozed", ignore_result=True)
def wake_snoozed() -> int:
    """Snoozed conversations whose time has come go back to open (every tenant)."""
    return sum(services.wake_snoozed(tenant_id=t) for t in _tenants_with(status="snoozed"))


@shared_task(name="chat.tasks.auto_resolve_idle", ignore_result=True)
def auto_resolve_idle() -> int:
    """Bot-handled conversations idle for KEFU_BOT_AUTO_RESOLVE_AFTER_S are resolved by the bot."""
    if services.bot_auto_resolve_after() is None:
        return 0
    tenants = _tenants_with(status="open", handled_by=HandledBy.BOT, handed_off_at__isnull=True, bot_turns__gt=0)
    done = 0
    for t in tenants:
        try:
            done += services.auto_resolve_idle(tenant_id=t)
        except Exception:  # one tenant's failure must not stop the others
            logger.exception("auto-resolve failed for tenant %s", t)
    return done


@shared_task(name="chat.tasks.housekeeping", ignore_result=True)
def housekeeping() -> dict[str, int]:
    """Beat (every 60 s): wake snoozed conversations, auto-resolve idle bot conversations."""
    return {"woken": wake_snoozed(), "auto_resolved": auto_resolve_idle()}


@shared_task(name="chat.tasks.sweep_outbox", ignore_result=True)
def sweep_outbox() -> dict[str, int]:
    """Beat (every KEFU_OUTBOX_SWEEP_S): chat.services.outbox.sweep."""
    return outbox.sweep()


@shared_task(name="chat.tasks.purge_expired_data", ignore_result=True)
def purge_expired_data() -> dict[str, dict[str, int]]:
    """Daily: every tenant's visitor data older than its retention (issue 9 #12)."""
    return {str(tenant_id): done for tenant_id, done in services.purge_expired_data().items()}
