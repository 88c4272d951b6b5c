"""Pure functions: fold one conversation's reporting events into its facts.

Definitions (DESIGN.md, "Metrics (correct by construction)"):
- care cycle: starts at conversation creation or at a reopen;
- first human response time, per cycle: from the later of the cycle start and the last
  handoff before the reply, to the first human (agent) reply; bot replies never count;
- resolution time, per cycle: from the cycle start to the cycle's resolve;
- AI resolved: the bot took part, no handoff, no human reply, resolved, never reopened,
  and either confirmed by the visitor ("This solved my problem", CSAT 4-5 or a thumbs-up)
  or no new visitor message (in the conversation or a new conversation of the same
  contact) within 24 h of the resolve; until those 24 h pass it is "pending", counted as
  neither. Event-sourced: `visitor_message` events of the conversation and
  `conversation_created` events (data.contact_id) of the contact's other conversations;
- CSAT: the latest answer counts (an answer given twice counts once).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ml.api import GAP_REASONS

VERIFY_WINDOW = dt.timedelta(hours=24)
SENTIMENTS = ("positive", "neutral", "negative")


@dataclass
class Ev:
    id: int
    kind: str
    at: dt.datetime
    agent_id: int | None = None
    reason: str | None = None
    value: float | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Fact:
    started_at: dt.datetime
    agent_id: int | None = None
    bot_involved: bool = False
    handed_off: bool = False
    handoff_reason: str | None = None
    resolved: bool = False
    reopened: bool = False
    ai_resolved: bool = False
    ai_pending: bool = False
    frt_values: list[float] = field(default_factory=list)
    resolution_values: list[float] = field(default_factory=list)
    human_replied: bool = False
    csat_surveyed: bool = False
    csat_rating: int | None = None
    sentiment: str | None = None
    intent: str | None = None
    knowledge_gap: bool = False
    last_event_id: int = 0
    last_resolved_at: dt.datetime | None = None
    confirmed: bool = False
    contact_id: int | None = None
    visitor_times: list[dt.datetime] = field(default_factory=list)


@dataclass
class _Cycle:
    start: dt.datetime
    anchor: dt.datetime
    reply: dt.datetime | None = None
    resolved_at: dt.datetime | None = None


def _sentiment(label: Any) -> str | None:
    if not label:
        return None
    label = str(label).lower()
    if label.startswith("neg"):
        return "negative"
    if label.startswith("pos"):
        return "positive"
    return "neutral"


def fold(events: Sequence[Ev], *, created_at: dt.datetime | None = None) -> Fact:
    """Facts of one conversation from its events (any order; sorted here by time, id)."""
    evs = sorted(events, key=lambda e: (e.at, e.id))
    created = next((e.at for e in evs if e.kind == "conversation_created"), None)
    start = created or created_at or (evs[0].at if evs else dt.datetime.now(dt.UTC))
    fact = Fact(started_at=start)
    cycles: list[_Cycle] = [_Cycle(start=start, anchor=start)]
    assigned: int | None = None
    first_human_agent: int | None = None
    resolver: int | None = None
    csat_latest: tuple[dt.datetime, int] | None = None
    for e in evs:
        fact.last_event_id = max(fact.last_event_id, e.id)
        cur = cycles[-1]
        k = e.kind
        if k == "conversation_created":
            contact = (e.data or {}).get("contact_id")
            if contact is not None:
                fact.contact_id = int(contact)
        elif k == "visitor_message":
            fact.visitor_times.append(e.at)
        elif k == "resolution_confirmed":
            fact.confirmed = True
        elif k == "bot_replied":
            fact.bot_involved = True
            intent = (e.data or {}).get("intent")
            if intent and fact.intent is None:
                fact.intent = str(intent)[:100]
            s = _sentiment((e.data or {}).get("sentiment"))
            if s:
                fact.sentiment = s
        elif k == "handoff":
            fact.handed_off = True
            if fact.handoff_reason is None:
                fact.handoff_reason = e.reason
            if e.reason in GAP_REASONS:
                fact.knowledge_gap = True
            if cur.reply is None and e.at > cur.anchor:
                cur.anchor = e.at
        elif k in ("first_human_reply", "agent_replied"):
            fact.human_replied = True
            if cur.reply is None:
                cur.reply = e.at
            if first_human_agent is None and e.agent_id:
                first_human_agent = e.agent_id
        elif k == "resolved":
            if cur.resolved_at is None:
                cur.resolved_at = e.at
            fact.resolved = True
            fact.last_resolved_at = e.at
            if e.agent_id:
                resolver = e.agent_id
        elif k == "reopened":
            fact.reopened = True
            cycles.append(_Cycle(start=e.at, anchor=e.at))
        elif k == "csat_sent":
            fact.csat_surveyed = True
        elif k == "csat_answered":
            if e.value is not None and (csat_latest is None or e.at >= csat_latest[0]):
                csat_latest = (e.at, int(round(e.value)))
        elif k == "feedback":
            if e.value is not None and e.value < 0:
                fact.knowledge_gap = True
            elif e.value is not None and e.value > 0:
                fact.confirmed = True
        elif k == "assigned":
            if e.agent_id:
                assigned = e.agent_id
    for c in cycles:
        if c.reply is not None:
            fact.frt_values.append(max(0.0, (c.reply - c.anchor).total_seconds()))
        if c.resolved_at is not None:
            fact.resolution_values.append(max(0.0, (c.resolved_at - c.start).total_seconds()))
    fact.human_replied = bool(fact.frt_values)
    if csat_latest is not None:
        fact.csat_rating = csat_latest[1]
        if csat_latest[1] >= 4:
            fact.confirmed = True
    fact.agent_id = assigned or first_human_agent or (resolver if fact.human_replied else None)
    return fact


def ai_candidate(fact: Fact) -> bool:
    return (
        fact.bot_involved
        and not fact.handed_off
        and not fact.human_replied
        and fact.resolved
        and not fact.reopened
        and fact.last_resolved_at is not None
    )


def verify_ai(fact: Fact, *, now: dt.datetime, visitor_after: Iterable[dt.datetime] = ()) -> None:
    """Set ai_resolved / ai_pending. Visitor activity after the resolve: the conversation's
    own `visitor_message` events (folded into fact.visitor_times) and `visitor_after`, the
    creation times of the same contact's other conversations."""
    fact.ai_resolved = fact.ai_pending = False
    if not ai_candidate(fact):
        return
    assert fact.last_resolved_at is not None
    if fact.confirmed:
        fact.ai_resolved = True
        return
    deadline = fact.last_resolved_at + VERIFY_WINDOW
    activity = [*fact.visitor_times, *visitor_after]
    if any(fact.last_resolved_at < t <= deadline for t in activity):
        return
    if now < deadline:
        fact.ai_pending = True
        return
    fact.ai_resolved = True


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (PostgreSQL's percentile_cont)."""
    if not values:
        return None
    xs = sorted(values)
    pos = (len(xs) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)
