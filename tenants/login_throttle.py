"""Log-in throttling per account and per client address (issue 9 #9).

Counters live in Django's cache: Redis in production (shared by every server process),
this process's memory in the embedded mode. An attempt *reserves* its place before the
password is checked (an atomic INCR), so a burst of 50 parallel guesses gets at most the
limit's worth of password checks; the rest, and every attempt while the lock lasts
(even with the right password), are refused with 429 and Retry-After.

- account: `KEFU_LOGIN_FAILURES_PER_ACCOUNT` failures within `KEFU_LOGIN_WINDOW_S` lock
  that account (whatever the address) for `KEFU_LOGIN_COOLOFF_S`;
- address: `KEFU_LOGIN_FAILURES_PER_IP` lock the address (password spraying over many
  accounts) for the same cool-off.
A success clears the account's count and gives back its reservation on the address (so
one's own good log-ins never unlock a guessing address). A cache outage fails open
(logged): log-in stays possible rather than refusing everyone.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)
PREFIX = "kefu:login:"


@dataclass(frozen=True)
class Attempt:
    account_key: str
    ip_key: str
    refused_for_s: int = 0  # > 0: locked out, retry after this many seconds

    @property
    def refused(self) -> bool:
        return self.refused_for_s > 0


def _keys(username: str, ip: str) -> tuple[str, str]:
    account = hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]
    return f"{PREFIX}acct:{account}", f"{PREFIX}ip:{ip or 'unknown'}"


def _limits() -> dict[str, int]:
    return {"acct": settings.KEFU_LOGIN_FAILURES_PER_ACCOUNT, "ip": settings.KEFU_LOGIN_FAILURES_PER_IP}


def _locked_for(key: str) -> int:
    until = cache.get(f"{key}:lock")
    return max(1, int(until - time.time()) + 1) if until and until > time.time() else 0


def _lock(key: str) -> int:
    cooloff = settings.KEFU_LOGIN_COOLOFF_S
    cache.set(f"{key}:lock", time.time() + cooloff, timeout=cooloff)
    # The count ends with the lock (not deleted now: a parallel attempt would start afresh).
    cache.touch(key, timeout=cooloff)
    return cooloff


def _reserve(key: str) -> int:
    cache.add(key, 0, timeout=settings.KEFU_LOGIN_WINDOW_S)
    try:
        return int(cache.incr(key))
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=settings.KEFU_LOGIN_WINDOW_S)
        return 1


def begin(*, username: str, ip: str) -> Attempt:
    """Reserve one log-in attempt; `refused` when the account or address is locked out."""
    account_key, ip_key = _keys(username, ip)
    try:
        locked = max(_locked_for(account_key), _locked_for(ip_key))
        if not locked:
            over = [key for key, limit in ((account_key, _limits()["acct"]), (ip_key, _limits()["ip"]))
                    if _reserve(key) > limit]
            locked = max((_lock(key) for key in over), default=0)
    except Exception:  # noqa: BLE001 - a cache outage must not stop every log-in
        logger.exception("login throttle unavailable; attempt allowed")
        return Attempt(account_key, ip_key)
    return Attempt(account_key, ip_key, refused_for_s=locked)


def finish(attempt: Attempt, *, succeeded: bool) -> None:
    """After the password check: a success clears the account's failures; a failure that
    reaches a limit locks at once, so the next attempt is refused."""
    try:
        if succeeded:
            cache.delete(attempt.account_key)
            cache.decr(attempt.ip_key)
            return
        for key, limit in ((attempt.account_key, _limits()["acct"]), (attempt.ip_key, _limits()["ip"])):
            if int(cache.get(key) or 0) >= limit:
                _lock(key)
    except ValueError:
        pass  # the counter expired meanwhile: nothing to give back
    except Exception:  # noqa: BLE001
        logger.exception("login throttle unavailable")


def reset(*, username: str = "", ip: str = "") -> None:
    """Clear an account's or address's count and lock (tests; an operator unlocking)."""
    account_key, ip_key = _keys(username, ip)
    cache.delete_many([k for k, wanted in ((account_key, username), (ip_key, ip)) if wanted
                       for k in (k, f"{k}:lock")])
