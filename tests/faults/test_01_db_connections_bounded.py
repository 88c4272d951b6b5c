"""Issue 9 #1: PostgreSQL connections must not leak under ASGI.

Before the fix (persistent connections, `KEFU_DB_CONN_MAX_AGE=60`, no pool) 75 parallel
`GET /api/t/<slug>/labels/` against one real uvicorn process left 76 connections
open on the database 30 s later (each request's sync code runs in a thread of its own
and its persistent connection outlives the thread); longer bursts ended in "too many
clients already". Now a web process borrows from a psycopg pool of at most
`settings.KEFU_DB_POOL_MAX_SIZE` connections (platform/SCALING.md), so the count stays
within that bound during the burst and after it, and every request still gets a 200.
"""

from __future__ import annotations

import asyncio
import logging
import time

import httpx
import pytest
from django.conf import settings
from django.db import connection

from tenants import services as tenant_services
from tests.processes import uvicorn_server

pytestmark = [pytest.mark.django_db(transaction=True)]
PARALLEL = 75
logging.getLogger("httpx").setLevel(logging.WARNING)


APP_NAME = "kefu-fault-01-web"


def database_connections() -> int:
    """The uvicorn process's sessions on the test database (libpq names them PGAPPNAME),
    so connections other tests' threads keep open in this process do not count."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = %s",
            [APP_NAME],
        )
        return cursor.fetchone()[0]


async def burst(url: str, key: str) -> list[int]:
    limits = httpx.Limits(max_connections=PARALLEL, max_keepalive_connections=0)
    async with httpx.AsyncClient(limits=limits, timeout=60, headers={"Authorization": f"Bearer {key}"}) as client:
        responses = await asyncio.gather(*(client.get(url) for _ in range(PARALLEL)))
    return [r.status_code for r in responses]


def test_01_parallel_api_requests_stay_within_the_pool_bound(team_a, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")
    _key, raw = tenant_services.create_api_key(actor=team_a.owner, name="burst")
    bound = settings.KEFU_DB_POOL_MAX_SIZE
    with uvicorn_server(tmp_path, KEFU_DB_POOL_MAX_SIZE=str(bound), PGAPPNAME=APP_NAME) as base:
        url = f"{base}/api/t/{team_a.tenant.slug}/labels/"
        before = database_connections()
        peak = 0

        async def burst_and_watch() -> list[int]:
            nonlocal peak
            task = asyncio.ensure_future(burst(url, raw))
            while not task.done():
                peak = max(peak, await asyncio.to_thread(database_connections))
                await asyncio.sleep(0.05)
            return await task

        started = time.monotonic()
        statuses = asyncio.run(burst_and_watch())
        took = time.monotonic() - started
        assert statuses == [200] * PARALLEL
        deadline = time.monotonic() + 30
        after = database_connections()
        while after > bound and time.monotonic() < deadline:
            time.sleep(1)
            after = database_connections()
    print(f"connections: before={before} peak={peak} after={after} bound={bound}; burst {took:.2f} s")
    assert peak <= bound, f"{peak} connections during the burst, bound {bound}"
    assert after <= bound, f"{after} connections 30 s after the burst, bound {bound}"
