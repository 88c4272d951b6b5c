"""Realistic generated history (reporting events, conversations, contacts) for the demo
tenant and the benchmark. Writes through the models with bulk_create; events follow the
same shapes chat.services writes (kinds, reasons, value, data)."""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from chat.models import Contact, Conversation, Message, ReportingEvent
from chat.reporting import bulk
from tenants.models import Tenant

INTENTS = [
    ("order_status", 18), ("refund_request", 11), ("shipping_time", 10), ("change_address", 7), ("cancel_order", 7),
    ("payment_failed", 6), ("product_question", 9), ("return_policy", 8), ("discount_code", 6), ("account_login", 5),
    ("warranty_claim", 3), ("store_hours", 4), ("complaint", 3),
]
HANDOFF_REASONS = [
    ("visitor_request", 30), ("low_confidence", 18), ("no_answer", 16), ("negative_sentiment", 10),
    ("escalating_intent", 8), ("out_of_scope", 7), ("max_bot_turns", 5), ("agent_takeover", 4), ("model_error", 2),
]
HOUR_WEIGHTS = [1, 1, 1, 1, 1, 2, 3, 5, 8, 10, 11, 11, 10, 10, 11, 11, 10, 9, 8, 8, 7, 5, 3, 2]
VISITOR_LINES = {
    "order_status": "Where is my order #{n}?",
    "refund_request": "I want a refund for my last purchase.",
    "shipping_time": "How long does shipping take to Shanghai?",
    "change_address": "Can I change my delivery address?",
    "cancel_order": "Please cancel my order.",
    "payment_failed": "My card payment failed twice.",
    "product_question": "Is the green tea set dishwasher safe?",
    "return_policy": "What is your return policy?",
    "discount_code": "My discount code does not work.",
    "account_login": "I can't log in to my account.",
    "warranty_claim": "The kettle stopped working after a month.",
    "store_hours": "When are you open on Sunday?",
    "complaint": "This is the third time my order is late!",
}


def _pick(rng: random.Random, table: Sequence[tuple[str, int]]) -> str:
    return rng.choices([k for k, _ in table], weights=[w for _, w in table])[0]


def _lognorm(rng: random.Random, median_s: float, sigma: float) -> float:
    return median_s * math.exp(rng.gauss(0, sigma))


@contextmanager
def _explicit_created_at() -> Iterator[None]:
    """Let bulk_create keep the created_at we set (auto_now_add would overwrite it)."""
    fields = [m._meta.get_field("created_at") for m in (Contact, Conversation, Message)]
    saved = [f.auto_now_add for f in fields]  # type: ignore[union-attr]
    try:
        for f in fields:
            f.auto_now_add = False  # type: ignore[union-attr]
        yield
    finally:
        for f, s in zip(fields, saved, strict=True):
            f.auto_now_add = s  # type: ignore[union-attr]


class _Conv:
    def __init__(self, tenant_id: int, widget_id: int) -> None:
        self.tenant_id, self.widget_id = tenant_id, widget_id
        self.events: list[dict[str, Any]] = []
        self.messages: list[tuple[str, str, dt.datetime, int | None]] = []  # sender, body, at, author
        self.status = "open"
        self.handled_by = "bot"
        self.assignee: int | None = None
        self.reason: str | None = None
        self.handed_off_at: dt.datetime | None = None
        self.resolved_at: dt.datetime | None = None
        self.reopened_at: dt.datetime | None = None
        self.cycle = 1
        self.csat = "none"

    def ev(self, kind: str, at: dt.datetime, **kw: Any) -> None:
        self.events.append({"kind": kind, "at": at, **kw})


def _simulate(rng: random.Random, c: _Conv, start: dt.datetime, agents: Sequence[int], now: dt.datetime) -> None:
    intent = _pick(rng, INTENTS)
    r = rng.random()
    sentiment = "negative" if (intent == "complaint" or r < 0.17) else ("positive" if r > 0.68 else "neutral")
    bot = rng.random() < 0.86
    c.ev("conversation_created", start)
    c.messages.append(("visitor", VISITOR_LINES[intent].format(n=rng.randint(10000, 99999)), start, None))
    c.ev("visitor_message", start)
    if bot:
        t, handed_off = _bot_turns(rng, c, start, intent, sentiment)
        if rng.random() < 0.08:
            c.ev("feedback", t + dt.timedelta(seconds=5), value=-1.0, data={})
        elif not handed_off and rng.random() < 0.25:
            c.ev("feedback", t + dt.timedelta(seconds=5), value=1.0, data={})
        if not handed_off:
            if rng.random() < 0.8:  # bot conversation closed after the visitor went quiet
                _bot_resolves(rng, c, start, t + dt.timedelta(minutes=rng.uniform(3, 30)))
            return
    _human_cycles(rng, c, start, agents, now)


def _bot_turns(rng: random.Random, c: _Conv, t: dt.datetime, intent: str, sentiment: str) -> tuple[dt.datetime, bool]:
    """The bot's replies (and the visitor's follow-ups); True when the last one handed off."""
    turns = rng.choice([1, 1, 1, 2, 2, 3, 4])
    for i in range(turns):
        t += dt.timedelta(seconds=rng.uniform(2, 9))
        conf = round(rng.uniform(0.35, 0.98), 3)
        handoff_now = i == turns - 1 and rng.random() < (0.55 if sentiment == "negative" else 0.33)
        c.ev(
            "bot_replied", t, value=conf,
            data={"action": "handoff" if handoff_now else "answer", "intent": intent, "sentiment": sentiment},
        )
        c.messages.append(("bot", "Here is what I found about " + intent.replace("_", " ") + ".", t, None))
        if handoff_now:
            reason = _pick(rng, HANDOFF_REASONS)
            if sentiment == "negative" and rng.random() < 0.5:
                reason = "negative_sentiment"
            c.ev("handoff", t, reason=reason)
            c.handled_by, c.reason, c.handed_off_at = "human", reason, t
            return t, True
        if i < turns - 1:
            t += dt.timedelta(seconds=rng.uniform(15, 120))
            c.messages.append(("visitor", "And what about the rest?", t, None))
            c.ev("visitor_message", t)
    return t, False


def _bot_resolves(rng: random.Random, c: _Conv, start: dt.datetime, t: dt.datetime) -> None:
    c.ev("resolved", t, value=(t - start).total_seconds(), data={"cycle": 1, "handled_by": "bot"})
    c.ev("csat_sent", t, data={"cycle": 1})
    c.status, c.resolved_at, c.csat = "resolved", t, "requested"
    if rng.random() < 0.35:
        rating = rng.choices([5, 4, 3, 2, 1], [50, 25, 10, 6, 9])[0]
        c.ev("csat_answered", t + dt.timedelta(minutes=rng.uniform(0.2, 20)), value=float(rating), data={"cycle": 1})
        c.csat = "answered"


def _human_cycles(rng: random.Random, c: _Conv, start: dt.datetime, agents: Sequence[int], now: dt.datetime) -> None:
    """A person's part: first reply, replies, resolve and CSAT; sometimes a reopen and a second cycle."""
    cycle_start = c.handed_off_at or start
    agent = rng.choice(agents) if agents else None
    for cycle in (1, 2):
        if agent is not None:
            c.assignee = agent
            c.ev("assigned", cycle_start + dt.timedelta(seconds=rng.uniform(1, 30)), agent_id=agent)
        local_hour = cycle_start.hour
        slow = 3.0 if local_hour < 7 or local_hour >= 22 else 1.0
        wait = _lognorm(rng, 150 * slow, 0.9)
        t = cycle_start + dt.timedelta(seconds=wait)
        if t > now:
            return
        c.ev("first_human_reply", t, agent_id=agent, value=wait, data={"cycle": cycle})
        c.ev("agent_replied", t, agent_id=agent)
        c.messages.append(("agent", "Hi, I'm looking into this for you now.", t, agent))
        for _ in range(rng.choice([0, 1, 1, 2, 3])):
            t += dt.timedelta(seconds=_lognorm(rng, 120, 0.8))
            c.ev("agent_replied", t, agent_id=agent)
        if rng.random() < 0.1:
            return  # still open
        t += dt.timedelta(seconds=_lognorm(rng, 900, 1.0))
        if t > now:
            return
        _human_resolves(rng, c, start, t, agent, cycle)
        if cycle == 2 or rng.random() > 0.08:
            return
        t += dt.timedelta(hours=rng.uniform(2, 40))
        if t > now:
            return
        c.ev("reopened", t, agent_id=agent, data={"cycle": 2})
        c.status, c.resolved_at, c.reopened_at, c.cycle, c.csat = "open", None, t, 2, "none"
        c.messages.append(("visitor", "Sorry, it's still not working.", t, None))
        c.ev("visitor_message", t)
        cycle_start = t


def _human_resolves(rng: random.Random, c: _Conv, start: dt.datetime, t: dt.datetime, agent: int | None,
                    cycle: int) -> None:
    cs = c.reopened_at or start
    c.ev("resolved", t, agent_id=agent, value=(t - cs).total_seconds(), data={"cycle": cycle, "handled_by": "human"})
    c.ev("csat_sent", t, agent_id=agent, data={"cycle": cycle})
    c.status, c.resolved_at, c.csat = "resolved", t, "requested"
    if rng.random() < 0.45:
        rating = rng.choices([5, 4, 3, 2, 1], [45, 27, 12, 7, 9])[0]
        at = t + dt.timedelta(minutes=rng.uniform(0.5, 60))
        c.ev("csat_answered", at, agent_id=agent, value=float(rating), data={"cycle": cycle})
        c.csat = "answered"
        if rng.random() < 0.04:  # answered twice: the latest answer counts
            c.ev("csat_answered", at + dt.timedelta(minutes=2), agent_id=agent, value=float(min(5, rating + 1)),
                 data={"cycle": cycle})


def generate(
    *,
    tenant: Tenant,
    widget_ids: Sequence[int],
    agent_ids: Sequence[int],
    conversations: int,
    days: int,
    seed: int = 7,
    now: dt.datetime | None = None,
    with_messages: bool = False,
    batch: int = 5000,
) -> int:
    """Create `conversations` conversations spread over the last `days` days (local time,
    busier on weekdays and daytime, growing over time). Returns the number of events."""
    rng = random.Random(seed)
    now = now or timezone.now()
    zone = ZoneInfo(tenant.timezone or "UTC")
    today = now.astimezone(zone).date()
    day_list = [today - dt.timedelta(days=i) for i in range(days)]
    weights = [(0.6 if d.weekday() >= 5 else 1.0) * (1.0 + 0.5 * (days - i) / days) for i, d in enumerate(day_list)]
    total_events = 0
    done = 0
    while done < conversations:
        n = min(batch, conversations - done)
        sims: list[tuple[_Conv, dt.datetime]] = []
        for _ in range(n):
            start = _start_time(rng, day_list, weights, zone, now)
            c = _Conv(tenant.pk, rng.choice(list(widget_ids)))
            _simulate(rng, c, start, agent_ids, now)
            sims.append((c, start))
        total_events += _store(tenant, sims, with_messages=with_messages)
        done += n
    return total_events


def _start_time(rng: random.Random, day_list: list[dt.date], weights: list[float], zone: ZoneInfo,
                now: dt.datetime) -> dt.datetime:
    """A start time: a weighted day and hour (local), at least five minutes before now."""
    for _attempt in range(20):
        day = rng.choices(day_list, weights)[0]
        hour = rng.choices(range(24), HOUR_WEIGHTS)[0]
        local = dt.datetime.combine(day, dt.time(hour, rng.randrange(60), rng.randrange(60)), tzinfo=zone)
        start = local.astimezone(dt.UTC)
        if start < now - dt.timedelta(minutes=5):
            break
    return start


def _store(tenant: Tenant, sims: list[tuple[_Conv, dt.datetime]], *, with_messages: bool) -> int:
    """One batch of simulated conversations as rows (contacts, conversations, events,
    optionally messages); returns the number of events."""
    with transaction.atomic(), _explicit_created_at():
        contacts = Contact.objects.bulk_create(
            [Contact(tenant_id=tenant.pk, widget_id=c.widget_id, created_at=s, last_seen_at=s) for c, s in sims],
            batch_size=2000,
        )
        convs = Conversation.objects.bulk_create(
            [
                Conversation(
                    tenant_id=tenant.pk, widget_id=c.widget_id, contact_id=ct.pk, status=c.status,
                    handled_by=c.handled_by, assignee_id=c.assignee, handoff_reason=c.reason,
                    handed_off_at=c.handed_off_at, cycle=c.cycle, csat_state=c.csat, created_at=s,
                    resolved_at=c.resolved_at, reopened_at=c.reopened_at,
                    last_message_at=(c.messages[-1][2] if c.messages else s),
                    last_message_preview=(c.messages[-1][1][:200] if c.messages else ""),
                    last_seq=len(c.messages) if with_messages else 0,
                )
                for (c, s), ct in zip(sims, contacts, strict=True)
            ],
            batch_size=2000,
        )
        events = [
            ReportingEvent(
                tenant_id=tenant.pk, conversation_id=conv.pk, widget_id=c.widget_id, kind=e["kind"], at=e["at"],
                agent_id=e.get("agent_id"), reason=e.get("reason"), value=e.get("value"),
                data=({"contact_id": conv.contact_id} if e["kind"] == "conversation_created" else e.get("data", {})),
            )
            for (c, _s), conv in zip(sims, convs, strict=True)
            for e in c.events
        ]
        bulk.insert(ReportingEvent, events)
        if with_messages:
            bulk.insert(
                Message,
                [
                    Message(
                        tenant_id=tenant.pk, conversation_id=conv.pk, seq=i + 1, sender=sender, body=body,
                        created_at=at, author_id=author,
                    )
                    for (c, _s), conv in zip(sims, convs, strict=True)
                    for i, (sender, body, at, author) in enumerate(c.messages)
                ],
            )
    return len(events)
