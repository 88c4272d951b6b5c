"""`make bench-dashboard`: 100,000 generated conversations for one tenant (plus noise in a
second), roll-ups computed by the same code the Celery task runs, then p50/p95 latency of
the dashboard API for a 30-day and a 365-day range, each beside the same request with
percentiles from every stored value (the baseline: no histogram buckets). Prints a table and
writes bench-results/dashboard.json (top-level `summary`).

    python -m chat.reporting.bench [--conversations 100000] [--noise 10000] [--runs 30] [--reuse]
                                   [--search-messages 100000] [--only-search]

Also one line per query of the inbox search API (`?q=`, issue 13 #4) over a tenant with at
least --search-messages generated messages, beside the same request with its trigram
indexes unused (--only-search: just that, into bench-results/inbox_search.json).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402

from chat.reporting import generator, rollups, selectors  # noqa: E402
from tenants.models import Membership, Tenant, Widget  # noqa: E402

SLUGS = ("bench-dashboard-a", "bench-dashboard-b", "bench-inbox-search")
# Inbox search (issue 13 #4): rare (an order number), common words, and a phrase in most
# conversations; target p95 <= 100 ms over >= 100,000 messages.
SEARCH_QUERIES = ("54321", "refund", "dishwasher", "still not working")
SEARCH_TARGET_MS = 100
PURGE = [
    "reporting_conversationfact", "reporting_dailyrollup", "reporting_rollupstate", "chat_reportingevent",
    "chat_message", "chat_csatresponse", "chat_conversationlabel", "chat_conversation", "chat_contact",
]


def purge() -> None:
    """Drop earlier bench tenants with plain SQL (the ORM's cascade is slow on 10^6 rows)."""
    ids = list(Tenant.objects.filter(slug__in=SLUGS).values_list("pk", flat=True))
    if not ids:
        return
    with transaction.atomic(), connection.cursor() as cur:
        for table in PURGE:
            cur.execute(f"DELETE FROM {table} WHERE tenant_id = ANY(%s)", [ids])  # noqa: S608 (fixed names)
    for t in Tenant.objects.filter(pk__in=ids):
        t.delete()


def make_tenant(slug: str, tz: str) -> tuple[Tenant, list[int], list[int], Any]:
    tenant = Tenant.objects.create(slug=slug, name=slug, timezone=tz)
    widgets = [
        Widget.objects.create(tenant=tenant, name=f"w{i}", public_key=f"pk_{slug}_{i}", identity_secret="x" * 32).pk
        for i in range(3)
    ]
    User = get_user_model()
    members = []
    for i in range(8):
        email = f"agent{i}@{slug}.example.com"
        user, _ = User.objects.get_or_create(username=email, defaults={"email": email})
        members.append(Membership.objects.create(tenant=tenant, user=user, role="owner" if i == 0 else "agent"))
    return tenant, widgets, [m.pk for m in members], members[0].user


def timed(fn: Any) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def _existing(slug: str, conversations: int) -> Any:
    """The earlier run's tenant when it holds the asked number of conversations (--reuse)."""
    from chat.models import Conversation

    tenant = Tenant.objects.filter(slug=slug).first()
    if tenant is None or Conversation.objects.for_tenant(tenant).count() != conversations:
        return None
    return tenant


def _latency(client: Client, url: str, runs: int) -> tuple[float, float, dict[str, Any]]:
    resp = client.get(url)
    assert resp.status_code == 200, resp.status_code
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        r = client.get(url)
        samples.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 200
    samples.sort()
    p95 = samples[min(len(samples) - 1, int(round(0.95 * (len(samples) - 1))))]
    return statistics.median(samples), p95, resp.json()


def _search_tenant(messages: int) -> tuple[Tenant, Any]:
    """A tenant whose generated conversations hold at least `messages` messages."""
    from chat.models import Message

    tenant = Tenant.objects.filter(slug=SLUGS[2]).first()
    if tenant is None or Message.objects.for_tenant(tenant).count() < messages:
        if tenant is not None:
            purge_one(tenant.pk)
        tenant, widgets, agents, _user = make_tenant(SLUGS[2], "Asia/Shanghai")
        seed = 10
        while Message.objects.for_tenant(tenant).count() < messages:
            generator.generate(tenant=tenant, widget_ids=widgets, agent_ids=agents, conversations=10_000, days=365,
                               seed=seed, with_messages=True)
            seed += 1
    with connection.cursor() as cur:
        cur.execute("ANALYZE chat_message; ANALYZE chat_contact; ANALYZE chat_conversation")
    return tenant, Membership.objects.for_tenant(tenant).filter(role="owner").first().user  # type: ignore[union-attr]


def purge_one(tenant_id: int) -> None:
    with transaction.atomic(), connection.cursor() as cur:
        for table in PURGE:
            cur.execute(f"DELETE FROM {table} WHERE tenant_id = %s", [tenant_id])  # noqa: S608 (fixed names)
    Tenant.objects.filter(pk=tenant_id).delete()


def search_rows(messages: int, runs: int) -> tuple[dict[str, Any], list[tuple[str, int, float, float, float]]]:
    """p50/p95 of the inbox API's search (`?q=`) over the generated messages, beside the
    same request with the trigram indexes unused (baseline: SET enable_bitmapscan = off,
    the only way a GIN index is read)."""
    from chat.models import Message

    tenant, user = _search_tenant(messages)
    stored = Message.objects.for_tenant(tenant).count()
    client = Client()
    client.force_login(user)
    results: dict[str, Any] = {}
    rows = []
    for q in SEARCH_QUERIES:
        url = f"/api/t/{tenant.slug}/conversations/?q={q.replace(' ', '+')}"
        p50, p95, data = _latency(client, url, runs)
        with connection.cursor() as cur:
            cur.execute("SET enable_bitmapscan = off")
            try:
                _b50, b95, base = _latency(client, url, max(3, runs // 5))
            finally:
                cur.execute("RESET enable_bitmapscan")
        assert data["count"] == base["count"], (q, data["count"], base["count"])
        results[q] = {"matches": data["count"], "p50_ms": round(p50, 1), "p95_ms": round(p95, 1),
                      "baseline_no_index_p95_ms": round(b95, 1), "runs": runs}
        rows.append((f"search '{q}'", data["count"], p50, p95, b95))
    return {"messages": stored, "queries": results}, rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--conversations", type=int, default=100_000)
    ap.add_argument("--noise", type=int, default=10_000)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--out", default="bench-results/dashboard.json")
    ap.add_argument("--reuse", action="store_true", help="keep an earlier run's generated history")
    ap.add_argument("--search-messages", type=int, default=100_000, help="inbox search over at least this many")
    ap.add_argument("--only-search", action="store_true", help="skip the dashboard part")
    args = ap.parse_args()
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    print(f"inbox search over >= {args.search_messages} messages ...", flush=True)
    search, search_table = search_rows(args.search_messages, args.runs)
    print(f"{'inbox search API':<30}{'matches':>9}{'p50 ms':>10}{'p95 ms':>10}{'no-index p95':>14}")
    for name, count, p50, p95, b95 in search_table:
        print(f"{name:<30}{count:>9}{p50:>10.1f}{p95:>10.1f}{b95:>14.1f}")
    search_summary = {
        "search_messages": search["messages"],
        "search_worst_p95_ms": round(max(r[3] for r in search_table), 1),
        "search_target_p95_ms": SEARCH_TARGET_MS,
        "search_under_target": all(r[3] <= SEARCH_TARGET_MS for r in search_table),
        "search_baseline_no_index_worst_p95_ms": round(max(r[4] for r in search_table), 1),
    }
    if args.only_search:
        out_path = Path(args.out).with_name("inbox_search.json")
        out_path.parent.mkdir(parents=True, exist_ok=True)
        out_path.write_text(json.dumps({"summary": search_summary, "inbox_search": search,
                                        "load_average_1m": round(os.getloadavg()[0], 2)}, indent=2))
        print(f"\nwrote {out_path}")
        return
    reused = _existing(SLUGS[0], args.conversations) if args.reuse else None
    if reused is not None:
        a = reused
        a_user = Membership.objects.for_tenant(a).filter(role="owner").first().user  # type: ignore[union-attr]
        events, gen_s = -1, 0.0
        print("reusing the generated history", flush=True)
    else:
        purge()
        a, a_widgets, a_agents, a_user = make_tenant(SLUGS[0], "Asia/Shanghai")
        b, b_widgets, b_agents, _ = make_tenant(SLUGS[1], "America/New_York")
        print(f"generating {args.conversations} conversations over {args.days} days (+{args.noise} noise) ...", flush=True)
        t0 = time.perf_counter()
        events = generator.generate(tenant=a, widget_ids=a_widgets, agent_ids=a_agents, conversations=args.conversations, days=args.days, seed=1)
        generator.generate(tenant=b, widget_ids=b_widgets, agent_ids=b_agents, conversations=args.noise, days=args.days, seed=2)
        gen_s = time.perf_counter() - t0
        print(f"  {events} events for tenant A in {gen_s:.1f}s", flush=True)
        rollups.refresh_tenant(tenant=b, rebuild=True)
    full_s = timed(lambda: rollups.refresh_tenant(tenant=a, rebuild=True))
    incr_s = timed(lambda: rollups.refresh_tenant(tenant=a))
    print(f"  roll-ups: full rebuild {full_s:.1f}s, incremental (nothing new) {incr_s:.2f}s", flush=True)
    client = Client()
    client.force_login(a_user)
    results: dict[str, Any] = {}
    rows = []
    exact_limit = selectors.EXACT_LIMIT
    for label, days in (("30 days", 30), ("365 days", 365)):
        for group in ("day", "week"):
            url = f"/api/t/{a.slug}/reporting/dashboard/?days={days}&group={group}"
            p50, p95, data = _latency(client, url, args.runs)
            selectors.EXACT_LIMIT = 10**12  # baseline: every value decoded, exact percentiles
            try:
                b50, b95, exact = _latency(client, url, args.runs)
            finally:
                selectors.EXACT_LIMIT = exact_limit
            shown = data["totals"]["conversations"]
            assert shown == exact["totals"]["conversations"] and data["histograms"] == exact["histograms"]
            errors = {
                f"{m}_{q}": round(abs(data[m][q] - exact[m][q]) / exact[m][q], 4)
                for m in ("first_response", "resolution")
                for q in ("median", "p90")
                if exact[m][q]
            }
            key = f"{days}d_{group}"
            results[key] = {
                "range_days": days, "group": group, "conversations": shown, "p50_ms": round(p50, 1),
                "p95_ms": round(p95, 1), "runs": args.runs, "percentiles": data["percentiles"],
                "baseline_exact_p50_ms": round(b50, 1), "baseline_exact_p95_ms": round(b95, 1),
                "percentile_relative_error_vs_exact": errors,
            }
            rows.append((f"{label} by {group}", shown, p50, p95, b95, max(errors.values(), default=0.0)))
    print()
    print(f"{'dashboard API':<22}{'conversations':>14}{'p50 ms':>10}{'p95 ms':>10}{'exact p95':>11}{'max pct err':>13}")
    for name, shown, p50, p95, b95, err in rows:
        print(f"{name:<22}{shown:>14}{p50:>10.1f}{p95:>10.1f}{b95:>11.1f}{err:>13.2%}")
    worst = max(rows, key=lambda r: r[3])
    out = {
        "summary": {
            "worst_p95_ms": round(worst[3], 1),
            "worst_query": worst[0],
            "target_p95_ms": 200,
            "all_under_target": all(r[3] <= 200 for r in rows),
            "baseline_exact_worst_p95_ms": round(max(r[4] for r in rows), 1),
            "max_percentile_relative_error": max(r[5] for r in rows),
            "percentile_precision": selectors.PERCENTILE_PRECISION,
            "load_average_1m": round(os.getloadavg()[0], 2),
            **search_summary,
        },
        "inbox_search": search,
        "tenant_conversations": args.conversations,
        "tenant_events": events,
        "noise_conversations": args.noise,
        "generate_s": round(gen_s, 1),
        "rollup_full_rebuild_s": round(full_s, 1),
        "rollup_incremental_noop_s": round(incr_s, 2),
        "dashboard_api": results,
        "database": connection.vendor,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2))
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
