"""Duration histograms kept on roll-up rows, so long dashboard ranges add bucket counts
instead of decoding every response and resolution time.

Buckets: 1 s wide up to 25 s, then at most 4 % wide (geometric), with the dashboard's
display edges (1 min, 5 min, ... 24 h) among the edges so the coarse histogram shown on the
page is exact. A percentile read from buckets is within one bucket of the exact value:
within 1 s below 25 s, within 4 % above. Stored sparse as {"bucket index": count}.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping

# Dashboard histogram (page and API): counts below 1 min, 1-5 min, ..., 24 h and more.
DISPLAY_EDGES = [60, 300, 900, 1800, 3600, 4 * 3600, 24 * 3600]
RELATIVE_WIDTH = 0.04
LINEAR_UNTIL = 25
_TOP = 10**8  # about three years in seconds; longer durations share the last bucket


def _edges() -> list[int]:
    edges = set(range(1, LINEAR_UNTIL + 1)) | set(DISPLAY_EDGES)
    x = float(LINEAR_UNTIL)
    while x < _TOP:
        x *= 1 + RELATIVE_WIDTH
        edges.add(int(x))
    return sorted(edges)


# Bucket i holds EDGES[i-1] <= v < EDGES[i] (bucket 0: below EDGES[0]; the last is open).
EDGES = _edges()
_DISPLAY_OF_BUCKET = [bisect.bisect_right(DISPLAY_EDGES, EDGES[i - 1] if i else 0) for i in range(len(EDGES) + 1)]


def bucket_of(value: float) -> int:
    return bisect.bisect_right(EDGES, value)


def add_values(hist: dict[str, int], values: Iterable[float]) -> None:
    for v in values:
        key = str(bucket_of(v))
        hist[key] = hist.get(key, 0) + 1


def merge(into: dict[int, int], hist: Mapping[str, int] | None) -> None:
    for key, n in (hist or {}).items():
        i = int(key)
        into[i] = into.get(i, 0) + n


def _bounds(i: int) -> tuple[float, float]:
    lower = float(EDGES[i - 1]) if i else 0.0
    upper = float(EDGES[i]) if i < len(EDGES) else lower * (1 + RELATIVE_WIDTH)
    return lower, upper


def _value_at_rank(ordered: list[tuple[int, int]], rank: int) -> float:
    """Estimate of the rank-th smallest value (0-based): spread evenly within its bucket."""
    seen = 0
    for i, n in ordered:
        if rank < seen + n:
            lower, upper = _bounds(i)
            return lower + (upper - lower) * (rank - seen + 0.5) / n
        seen += n
    raise IndexError(rank)


def percentile(hist: Mapping[int, int], q: float) -> float | None:
    """Like compute.percentile (percentile_cont) on the values behind `hist`, within a bucket."""
    ordered = sorted((i, n) for i, n in hist.items() if n)
    total = sum(n for _i, n in ordered)
    if not total:
        return None
    pos = (total - 1) * q
    lo = int(pos)
    hi = min(lo + 1, total - 1)
    a = _value_at_rank(ordered, lo)
    b = a if hi == lo else _value_at_rank(ordered, hi)
    return a + (b - a) * (pos - lo)


def display_counts(hist: Mapping[int, int]) -> list[int]:
    """Counts per DISPLAY_EDGES interval; exact, since those edges are bucket edges."""
    counts = [0] * (len(DISPLAY_EDGES) + 1)
    for i, n in hist.items():
        counts[_DISPLAY_OF_BUCKET[i]] += n
    return counts


def total(hist: Mapping[int, int]) -> int:
    return sum(hist.values())
