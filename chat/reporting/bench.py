"""`make bench-dashboard`: 100,000 generated conversations for one tenant (plus noise in a
second), roll-ups computed by the same code the Celery task runs, then p50/p95 latency of
the dashboard API for a 30-day and a 365-day range. Prints a table and writes
bench-results/dashboard.json.

    python -m chat.reporting.bench [--conversations 100000] [--noise 10000] [--runs 30]
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

from chat.reporting import generator, rollups  # noqa: E402
from tenants.models import Membership, Tenant, Widget  # noqa: E402

SLUGS = ("bench-dashboard-a", "bench-dashboard-b")
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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--conversations", type=int, default=100_000)
    ap.add_argument("--noise", type=int, default=10_000)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--out", default="bench-results/dashboard.json")
    args = ap.parse_args()
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    purge()
    a, a_widgets, a_agents, a_user = make_tenant(SLUGS[0], "Asia/Shanghai")
    b, b_widgets, b_agents, _ = make_tenant(SLUGS[1], "America/New_York")
    print(f"generating {args.conversations} conversations over {args.days} days (+{args.noise} noise) ...", flush=True)
    t0 = time.perf_counter()
    events = generator.generate(tenant=a, widget_ids=a_widgets, agent_ids=a_agents, conversations=args.conversations, days=args.days, seed=1)
    generator.generate(tenant=b, widget_ids=b_widgets, agent_ids=b_agents, conversations=args.noise, days=args.days, seed=2)
    gen_s = time.perf_counter() - t0
    print(f"  {events} events for tenant A in {gen_s:.1f}s", flush=True)
    full_s = timed(lambda: rollups.refresh_tenant(tenant=a, rebuild=True))
    rollups.refresh_tenant(tenant=b, rebuild=True)
    incr_s = timed(lambda: rollups.refresh_tenant(tenant=a))
    print(f"  roll-ups: full rebuild {full_s:.1f}s, incremental (nothing new) {incr_s:.2f}s", flush=True)
    client = Client()
    client.force_login(a_user)
    results: dict[str, Any] = {}
    rows = []
    for label, days in (("30 days", 30), ("365 days", 365)):
        for group in ("day", "week"):
            url = f"/api/t/{a.slug}/reporting/dashboard/?days={days}&group={group}"
            resp = client.get(url)
            assert resp.status_code == 200, resp.status_code
            shown = resp.json()["totals"]["conversations"]
            samples = []
            for _ in range(args.runs):
                t = time.perf_counter()
                r = client.get(url)
                samples.append((time.perf_counter() - t) * 1000)
                assert r.status_code == 200
            samples.sort()
            p50 = statistics.median(samples)
            p95 = samples[min(len(samples) - 1, int(round(0.95 * (len(samples) - 1))))]
            key = f"{days}d_{group}"
            results[key] = {"range_days": days, "group": group, "conversations": shown, "p50_ms": round(p50, 1), "p95_ms": round(p95, 1), "runs": args.runs}
            rows.append((f"{label} by {group}", shown, p50, p95))
    print()
    print(f"{'dashboard API':<22}{'conversations':>14}{'p50 ms':>10}{'p95 ms':>10}")
    for name, shown, p50, p95 in rows:
        print(f"{name:<22}{shown:>14}{p50:>10.1f}{p95:>10.1f}")
    out = {
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
