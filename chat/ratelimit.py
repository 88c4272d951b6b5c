"""Sliding-window rate limits, per process (a visitor's socket lives in one process; the
per-widget limit is therefore per server process: with N processes the ceiling is N x)."""

from __future__ import annotations

import threading
import time
from collections import deque

_lock = threading.Lock()
_windows: dict[str, deque[float]] = {}


def hit(key: str, limit: int, window_s: float = 60.0) -> bool:
    """Record one event for `key`; False (and nothing recorded) when over the limit."""
    if limit <= 0:
        return True
    now = time.monotonic()
    with _lock:
        q = _windows.get(key)
        if q is None:
            q = _windows[key] = deque()
        while q and q[0] <= now - window_s:
            q.popleft()
        if len(q) >= limit:
            return False
        q.append(now)
        if len(_windows) > 100_000:  # forget idle keys
            for stale in [k for k, v in _windows.items() if not v or v[-1] <= now - window_s]:
                _windows.pop(stale, None)
        return True


def reset() -> None:
    with _lock:
        _windows.clear()
