"""Fixed-window rate limits for visitors, shared by every server process through Redis.

`allow(...)` checks a set of (key, limit, window) counters at once and records one hit on
all of them only when none is full, so a refused attempt costs nothing against the other
limits (a visitor flooding past its own limit does not use up its widget's budget). With
REDIS_URL the counters live in Redis (one round trip: a Lua script); without it (embedded
mode, one process) they live in this process's memory. A Redis outage fails open: chat
keeps working without limits rather than refusing every visitor, and for REDIS_RETRY_S
after a failure Redis is not asked at all (no timeout per message, one log line).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import redis
from django.conf import settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limit:
    key: str
    limit: int  # events per window; 0 or less = no limit
    window_s: int = 60


# KEYS: the counters; ARGV: limit_1, window_1, limit_2, window_2, ...
# Returns 0 when recorded, else the 1-based index of the first full counter.
_LUA = """
for i, key in ipairs(KEYS) do
  local n = tonumber(redis.call('GET', key) or '0')
  if n >= tonumber(ARGV[2 * i - 1]) then return i end
end
for i, key in ipairs(KEYS) do
  if redis.call('INCR', key) == 1 then redis.call('EXPIRE', key, ARGV[2 * i]) end
end
return 0
"""

_lock = threading.Lock()
_redis: Any = None
_redis_url = ""
_script: Any = None
_memory: dict[str, tuple[float, int]] = {}  # key -> (window end, count)
REDIS_RETRY_S = 5.0
_redis_down_until = 0.0


def _prefix() -> str:
    return str(settings.KEFU_RATELIMIT_PREFIX)


def _client() -> Any:
    global _redis, _redis_url, _script
    url = settings.REDIS_URL
    if _redis is None or _redis_url != url:
        with _lock:
            if _redis is None or _redis_url != url:
                client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
                _script = client.register_script(_LUA)
                _redis, _redis_url = client, url
    return _redis


def allow(limits: Sequence[Limit]) -> Limit | None:
    """Record one event on every limit, or none when one is full; returns the full one."""
    active = [lim for lim in limits if lim.limit > 0]
    if not active:
        return None
    if not settings.REDIS_URL:
        return _allow_in_memory(active)
    global _redis_down_until
    if time.monotonic() < _redis_down_until:
        return None
    try:
        _client()
        full = int(
            _script(
                keys=[_prefix() + lim.key for lim in active],
                args=[v for lim in active for v in (lim.limit, max(1, int(lim.window_s)))],
            )
        )
    except (redis.RedisError, OSError) as exc:  # no limits rather than no chat
        _redis_down_until = time.monotonic() + REDIS_RETRY_S
        logger.warning("rate limits off for %.0f s: Redis unavailable (%s)", REDIS_RETRY_S, exc)
        return None
    return active[full - 1] if full else None


def _allow_in_memory(active: list[Limit]) -> Limit | None:
    now = time.monotonic()
    keys = [_prefix() + lim.key for lim in active]
    with _lock:
        for lim, key in zip(active, keys, strict=True):
            end, count = _memory.get(key, (0.0, 0))
            if end > now and count >= lim.limit:
                return lim
        for lim, key in zip(active, keys, strict=True):
            end, count = _memory.get(key, (0.0, 0))
            _memory[key] = (end, count + 1) if end > now else (now + lim.window_s, 1)
        if len(_memory) > 100_000:  # forget expired windows
            for stale in [k for k, (end, _c) in _memory.items() if end <= now]:
                _memory.pop(stale, None)
    return None


def hit(key: str, limit: int, window_s: float = 60.0) -> bool:
    """One counter: False (and nothing recorded) when it is full."""
    return allow([Limit(key, limit, int(window_s))]) is None


def reset() -> None:
    """Forget every counter (tests)."""
    with _lock:
        _memory.clear()
    if settings.REDIS_URL:
        client = _client()
        keys = list(client.scan_iter(match=_prefix() + "*", count=1000))
        if keys:
            client.delete(*keys)
