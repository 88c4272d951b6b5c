"""The web process's psycopg pool: sweep out every dead idle connection at once.

psycopg_pool checks a connection on checkout (CONN_HEALTH_CHECKS) and, when the check
fails, discards it and takes the next one, at once the first time, then after 1 s,
2 s, 4 s, ... (its AttemptWithBackoff). A PostgreSQL restart or terminated sessions kill
every idle connection in the pool together, so a caller walked through them one by one
and hit KEFU_DB_POOL_TIMEOUT_S after about five (issue 14), whatever the pool size, and
the handshakes, which share one thread, queued behind it. Here the first failed check
checks all the idle connections at once (pool.check() replaces the dead ones), so the
caller's immediate retry finds a live connection (8 killed idle connections: PoolTimeout
after 10 s before, a connection in 0.0 s after).
"""

from __future__ import annotations

from typing import Any

from django.db import connections
from psycopg_pool import ConnectionPool


def sweep_dead_connections_on_failed_check() -> None:
    # SQLite (embedded mode) has no pool.
    pool: ConnectionPool | None = getattr(connections["default"], "pool", None)
    if pool is None or pool._check is None:  # no pool, or CONN_HEALTH_CHECKS off
        return

    def check(conn: Any) -> None:
        try:
            ConnectionPool.check_connection(conn)
        except Exception:
            pool.check()  # the other idle connections died with this one: replace them now
            raise

    pool._check = check
