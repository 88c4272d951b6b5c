"""Periodic conversation upkeep run by chat.tasks.housekeeping: bot auto-resolve, waking snoozed ones."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from chat.models import (
    Conversation,
    ConversationStatus,
    HandledBy,
    Message,
    Sender,
)
from chat.services.inbox import _resolve_locked


def bot_auto_resolve_after() -> timedelta | None:
    """Idle time after which a bot-handled conversation is resolved by the bot (None: off).

    settings.KEFU_BOT_AUTO_RESOLVE_AFTER_S (env of the same name), default 24 h; 0 turns
    it off.
    """
    seconds = int(settings.KEFU_BOT_AUTO_RESOLVE_AFTER_S)
    return timedelta(seconds=seconds) if seconds > 0 else None


def auto_resolve_idle(*, tenant_id: int, now: datetime | None = None, idle: timedelta | None = None) -> int:
    """Resolve the tenant's bot-handled conversations idle for `idle` (default: the setting).

    A conversation qualifies when it is open, the bot handles it (no handoff), the bot
    answered at least once, no person wrote in it, nothing happened for `idle`, and its
    last visitor/bot/agent message is the bot's (an unanswered visitor message is never
    closed as resolved). Each one is re-checked under its row lock.
    """
    now = now or timezone.now()
    idle = idle or bot_auto_resolve_after()
    if idle is None:
        return 0
    cutoff = now - idle
    candidates = list(
        Conversation.objects.for_tenant(tenant_id)
        .filter(
            status=ConversationStatus.OPEN,
            handled_by=HandledBy.BOT,
            handed_off_at__isnull=True,
            bot_turns__gt=0,
            last_message_at__lte=cutoff,
        )
        .order_by("last_message_at")
        .values_list("pk", flat=True)[:500]
    )
    done = 0
    for pk in candidates:
        with transaction.atomic():
            conv = (
                Conversation.objects.for_tenant(tenant_id)
                .select_for_update()
                .filter(
                    pk=pk,
                    status=ConversationStatus.OPEN,
                    handled_by=HandledBy.BOT,
                    handed_off_at__isnull=True,
                    last_message_at__lte=cutoff,
                )
                .first()
            )
            if conv is None:
                continue
            msgs = Message.objects.for_tenant(tenant_id).filter(conversation_id=pk)
            if msgs.filter(sender=Sender.AGENT).exists():
                continue
            last = (
                msgs.filter(sender__in=[Sender.VISITOR, Sender.BOT, Sender.AGENT])
                .order_by("-seq")
                .values_list("sender", flat=True)
                .first()
            )
            if last != Sender.BOT:
                continue
            _resolve_locked(conv, agent_id=None, by="auto", now=now)
            done += 1
    return done


def wake_snoozed(*, tenant_id: int) -> int:
    """Snoozed conversations whose time has come go back to open."""
    return (
        Conversation.objects.for_tenant(tenant_id)
        .filter(status=ConversationStatus.SNOOZED, snoozed_until__lte=timezone.now())
        .update(status=ConversationStatus.OPEN, snoozed_until=None)
    )
