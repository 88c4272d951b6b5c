"""Every metric on a hand-built history whose answers were worked out by hand.

Tenant A is in Asia/Shanghai (UTC+8). T = 2024-03-04 02:00 UTC = 10:00 local, Monday.

 #  history (offsets from its start)                                     expected
 1  bot +10s, bot +60s, handoff low_confidence +120s, human +420s,       FRT 300 (bot replies ignored,
    resolve +1020s, CSAT 5                                               from the handoff), res 1020
 2  bot +5s, handoff visitor_request +30s, human +90s, resolve +600s,     FRT 60, 240; res 600, 1200
    reopen +7200s, human +7440s, resolve +8400s, CSAT 2 (cycle 2)
 3  no bot: human +30s, resolve +300s, reopen +1 day, resolve +1 day     FRT 30 (cycle 2: no reply);
    +600s (no reply in cycle 2); surveyed twice, never answered          res 300, 600
 4  no bot: human +120s, resolve +900s, CSAT 2 then CSAT 4               FRT 120, res 900, CSAT 4 (latest)
 5  bot, resolve +300s, no visitor activity within 24 h                  AI resolved, res 300
 6  bot, resolve +300s; same contact starts #7 two hours later           not AI resolved, res 300
 7  bot, handoff no_answer, nobody replied yet                           handed off, knowledge gap
 8  23:50 local Mar 4: bot, thumbs-up, resolve 00:20 local Mar 5         AI resolved (confirmed),
                                                                         res 1800, counted on Mar 4
 9  00:10 local Mar 5 (still Mar 4 in UTC): no bot, human +600s          FRT 600, counted on Mar 5
"""

from __future__ import annotations

import datetime as dt

import pytest

from chat.reporting import rollups, selectors
from chat.reporting.compute import percentile
from chat.reporting.selectors import Filters
from tests.reporting.helpers import History, at, widget

S = dt.timedelta(seconds=1)
NOW = at(2024, 3, 20, 12)


@pytest.fixture
def hist(team_a, team_b):
    tenant = team_a.tenant
    tenant.timezone = "Asia/Shanghai"
    tenant.save()
    h = History(tenant, widget(tenant))
    ag, ad = team_a.agent.pk, team_a.admin.pk
    T = at(2024, 3, 4, 2)
    c = {}
    c[1] = x = h.conversation(T)
    h.bot(x, T + 10 * S, "refund_request", "negative")
    h.bot(x, T + 60 * S, "refund_request", "negative")
    h.ev(x, "handoff", T + 120 * S, reason="low_confidence")
    h.ev(x, "assigned", T + 125 * S, agent_id=ag)
    h.human(x, T + 420 * S, ag)
    h.ev(x, "agent_replied", T + 500 * S, agent_id=ag)
    h.resolve(x, T + 1020 * S, ag)
    h.ev(x, "csat_answered", T + 1100 * S, value=5.0, agent_id=ag)

    t = T + dt.timedelta(hours=1)
    c[2] = x = h.conversation(t)
    h.bot(x, t + 5 * S, "order_status", "neutral")
    h.ev(x, "handoff", t + 30 * S, reason="visitor_request")
    h.ev(x, "assigned", t + 31 * S, agent_id=ad)
    h.human(x, t + 90 * S, ad)
    h.resolve(x, t + 600 * S, ad)
    h.ev(x, "reopened", t + 7200 * S, agent_id=ad)
    h.human(x, t + 7440 * S, ad)
    h.resolve(x, t + 8400 * S, ad)
    h.ev(x, "csat_answered", t + 8500 * S, value=2.0, agent_id=ad)

    t = T + dt.timedelta(hours=2)
    c[3] = x = h.conversation(t)
    h.ev(x, "assigned", t + 1 * S, agent_id=ag)
    h.human(x, t + 30 * S, ag)
    h.resolve(x, t + 300 * S, ag)
    h.ev(x, "reopened", t + dt.timedelta(days=1), agent_id=ag)
    h.resolve(x, t + dt.timedelta(days=1) + 600 * S, ag)

    t = T + dt.timedelta(hours=3)
    c[4] = x = h.conversation(t)
    h.ev(x, "assigned", t + 1 * S, agent_id=ag)
    h.human(x, t + 120 * S, ag)
    h.resolve(x, t + 900 * S, ag)
    h.ev(x, "csat_answered", t + 1000 * S, value=2.0, agent_id=ag)
    h.ev(x, "csat_answered", t + 1100 * S, value=4.0, agent_id=ag)

    t = T + dt.timedelta(hours=4)
    c[5] = x = h.conversation(t)
    h.bot(x, t + 5 * S, "order_status", "positive")
    h.resolve(x, t + 300 * S)

    t = T + dt.timedelta(hours=5)
    c[6] = x = h.conversation(t)
    h.bot(x, t + 5 * S, "shipping_time", "neutral")
    h.ev(x, "resolved", t + 300 * S)

    t = T + dt.timedelta(hours=7)
    c[7] = x = h.conversation(t, contact=c[6].contact)
    h.bot(x, t + 5 * S, "warranty_claim", "negative")
    h.ev(x, "handoff", t + 5 * S, reason="no_answer")

    t = at(2024, 3, 4, 15, 50)
    c[8] = x = h.conversation(t)
    h.bot(x, t + 5 * S, "order_status", "positive")
    h.ev(x, "feedback", t + 10 * S, value=1.0)
    h.ev(x, "resolved", at(2024, 3, 4, 16, 20))

    t = at(2024, 3, 4, 16, 10)
    c[9] = x = h.conversation(t)
    h.ev(x, "assigned", t + 2 * S, agent_id=ad)
    h.human(x, t + 600 * S, ad)

    # Noise in tenant B: must never show up in A's figures.
    hb = History(team_b.tenant, widget(team_b.tenant))
    for i in range(3):
        y = hb.conversation(T + i * S)
        hb.bot(y, T + 10 * S, "secret_intent_b")
        hb.resolve(y, T + 60 * S)
    rollups.refresh_tenant(tenant=team_b.tenant, now=NOW)
    rollups.refresh_tenant(tenant=tenant, now=NOW)
    return {"tenant": tenant, "c": c, "agent": ag, "admin": ad, "widget": h.widget}


def _f(**kw):
    return Filters(start=dt.date(2024, 3, 4), end=dt.date(2024, 3, 5), **kw)


@pytest.mark.django_db
def test_totals_worked_out_by_hand(hist):
    d = selectors.dashboard(tenant=hist["tenant"], filters=_f())
    t = d["totals"]
    assert t["conversations"] == 9
    assert t["bot_involved"] == 6  # 1, 2, 5, 6, 7, 8
    assert t["ai_resolved"] == 2  # 5 (quiet for 24 h) and 8 (thumbs-up); 6 came back as 7
    assert t["ai_pending"] == 0
    assert t["ai_resolution_rate"] == pytest.approx(2 / 6, abs=1e-4)
    assert t["handed_off"] == 3 and t["handoff_rate"] == 0.5
    assert {r["key"]: r["count"] for r in d["handoff_reasons"]} == {"low_confidence": 1, "visitor_request": 1, "no_answer": 1}
    # First human response per cycle: 300, 60, 240, 30, 120, 600 (seconds).
    assert d["first_response"]["cycles"] == 6 and d["first_response"]["conversations"] == 5
    assert d["first_response"]["median"] == 180.0
    assert d["first_response"]["p90"] == 450.0
    # Resolution per cycle: 1020, 600, 1200, 300, 600, 900, 300, 300, 1800.
    assert d["resolution"]["cycles"] == 9 and t["resolved"] == 7
    assert d["resolution"]["median"] == 600.0
    assert d["resolution"]["p90"] == 1320.0
    assert t["reopened"] == 2
    # CSAT: surveyed 1, 2, 3, 4, 5; answered 1 (5), 2 (2), 4 (2 then 4: latest, once).
    assert t["csat_surveyed"] == 5 and t["csat_answered"] == 3 and t["csat_positive"] == 2
    assert t["csat_score"] == pytest.approx(0.6667, abs=1e-4)
    assert t["csat_response_rate"] == 0.6
    assert d["csat_ratings"] == {"1": 0, "2": 1, "3": 0, "4": 1, "5": 1}
    assert d["sentiments"] == {"positive": 2, "neutral": 2, "negative": 2}
    assert d["top_intents"][0] == {"key": "order_status", "count": 3, "share": pytest.approx(3 / 9, abs=1e-4)}
    assert {r["key"]: r["count"] for r in d["knowledge_gaps"]} == {"refund_request": 1, "warranty_claim": 1}
    assert "secret_intent_b" not in str(d)


@pytest.mark.django_db
def test_days_in_the_tenant_time_zone(hist):
    d = selectors.dashboard(tenant=hist["tenant"], filters=_f())
    by_day = {p["period"]: p for p in d["series"]}
    # #8 starts 23:50 local on Mar 4 (resolved after midnight): Mar 4. #9 starts 00:10 local
    # on Mar 5 although it is still Mar 4 in UTC: Mar 5.
    assert by_day["2024-03-04"]["conversations"] == 8
    assert by_day["2024-03-05"]["conversations"] == 1
    assert by_day["2024-03-05"]["first_response"]["median"] == 600.0
    only_5th = selectors.dashboard(tenant=hist["tenant"], filters=Filters(start=dt.date(2024, 3, 5), end=dt.date(2024, 3, 5)))
    assert only_5th["totals"]["conversations"] == 1
    week = selectors.dashboard(tenant=hist["tenant"], filters=_f(group="week"))
    assert [p["period"] for p in week["series"]] == ["2024-03-04"]
    assert week["series"][0]["conversations"] == 9


@pytest.mark.django_db
def test_same_history_in_utc_moves_the_midnight_conversation(hist):
    tenant = hist["tenant"]
    tenant.timezone = "UTC"
    tenant.save()
    rollups.refresh_tenant(tenant=tenant, now=NOW, rebuild=True)
    d = selectors.dashboard(tenant=tenant, filters=_f())
    assert {p["period"]: p["conversations"] for p in d["series"]} == {"2024-03-04": 9, "2024-03-05": 0}


@pytest.mark.django_db
def test_filters_by_agent_and_widget(hist):
    tenant = hist["tenant"]
    a = selectors.dashboard(tenant=tenant, filters=_f(agent_id=hist["agent"]))
    # Agent: #1, #3, #4 -> FRT 300, 30, 120.
    assert a["totals"]["conversations"] == 3
    assert a["first_response"]["median"] == 120.0
    ad = selectors.dashboard(tenant=tenant, filters=_f(agent_id=hist["admin"]))
    assert ad["totals"]["conversations"] == 2  # #2, #9
    none = selectors.dashboard(tenant=tenant, filters=_f(agent_id=0))
    assert none["totals"]["conversations"] == 4  # #5, #6, #7, #8
    w = selectors.dashboard(tenant=tenant, filters=_f(widget_id=hist["widget"].pk))
    assert w["totals"]["conversations"] == 9
    other = selectors.dashboard(tenant=tenant, filters=_f(widget_id=hist["widget"].pk + 999))
    assert other["totals"]["conversations"] == 0


@pytest.mark.django_db
def test_every_number_drills_down_to_exactly_that_many(hist):
    tenant = hist["tenant"]
    for f in (_f(), _f(agent_id=hist["agent"]), _f(agent_id=0), Filters(start=dt.date(2024, 3, 5), end=dt.date(2024, 3, 5))):
        d = selectors.dashboard(tenant=tenant, filters=f)
        for metric in selectors.METRICS:
            assert selectors.drilldown(tenant=tenant, filters=f, metric=metric).count() == d["totals"][metric], metric
        for key, metric in (("handoff_reasons", "handoff_reason"), ("top_intents", "intent"), ("knowledge_gaps", "gap_intent")):
            for r in d[key]:
                assert selectors.drilldown(tenant=tenant, filters=f, metric=metric, key=r["key"]).count() == r["count"]
        for s, n in d["sentiments"].items():
            assert selectors.drilldown(tenant=tenant, filters=f, metric="sentiment", key=s).count() == n
        for r, n in d["csat_ratings"].items():
            assert selectors.drilldown(tenant=tenant, filters=f, metric="csat_rating", key=r).count() == n
        for p in d["series"]:
            got = selectors.drilldown(tenant=tenant, filters=f, metric="conversations", period=dt.date.fromisoformat(p["period"]))
            assert got.count() == p["conversations"]
    ids = set(selectors.drilldown(tenant=tenant, filters=_f(), metric="ai_resolved").values_list("conversation_id", flat=True))
    assert ids == {hist["c"][5].pk, hist["c"][8].pk}
    reopened = set(selectors.drilldown(tenant=tenant, filters=_f(), metric="reopened").values_list("conversation_id", flat=True))
    assert reopened == {hist["c"][2].pk, hist["c"][3].pk}


@pytest.mark.django_db
def test_ai_resolution_waits_24h_then_counts(team_a):
    tenant = team_a.tenant
    h = History(tenant, widget(tenant))
    t0 = at(2024, 5, 1, 8)
    x = h.conversation(t0)
    h.bot(x, t0 + 5 * S)
    h.ev(x, "resolved", t0 + 60 * S)
    rollups.refresh_tenant(tenant=tenant, now=t0 + dt.timedelta(hours=1))
    f = Filters(start=dt.date(2024, 5, 1), end=dt.date(2024, 5, 1))
    d = selectors.dashboard(tenant=tenant, filters=f)["totals"]
    assert (d["ai_resolved"], d["ai_pending"]) == (0, 1)
    # The periodic refresh picks up pending facts with no new events.
    rollups.refresh_tenant(tenant=tenant, now=t0 + dt.timedelta(hours=25))
    d = selectors.dashboard(tenant=tenant, filters=f)["totals"]
    assert (d["ai_resolved"], d["ai_pending"]) == (1, 0)


@pytest.mark.django_db
def test_incremental_refresh_moves_a_conversation_between_buckets(team_a):
    tenant = team_a.tenant
    h = History(tenant, widget(tenant))
    t0 = at(2024, 5, 1, 8)
    x = h.conversation(t0)
    h.bot(x, t0 + 5 * S)
    rollups.refresh_tenant(tenant=tenant, now=t0 + dt.timedelta(minutes=1))
    f = Filters(start=dt.date(2024, 5, 1), end=dt.date(2024, 5, 1))
    assert selectors.dashboard(tenant=tenant, filters=f)["totals"]["handed_off"] == 0
    h.ev(x, "handoff", t0 + 60 * S, reason="visitor_request")
    h.ev(x, "assigned", t0 + 61 * S, agent_id=team_a.agent.pk)
    h.human(x, t0 + 90 * S, team_a.agent.pk)
    rollups.refresh_tenant(tenant=tenant, now=t0 + dt.timedelta(minutes=10))
    d = selectors.dashboard(tenant=tenant, filters=f)
    assert d["totals"]["handed_off"] == 1 and d["first_response"]["median"] == 30.0
    assert selectors.dashboard(tenant=tenant, filters=Filters(start=f.start, end=f.end, agent_id=0))["totals"]["conversations"] == 0


def test_percentile_is_linear_interpolation():
    assert percentile([], 0.5) is None
    assert percentile([5], 0.9) == 5
    assert percentile([1, 2, 3, 4], 0.5) == 2.5
    assert percentile(list(range(11)), 0.9) == 9
