"""Duration histograms kept on roll-up rows, so long dashboard ranges add bucket counts
instead of decoding every response and resolution time.

Buckets: 1 s wide up to 25 s, then at most 4 % wide (geometric), with the dashboard's
display edges (1 min, 5 min, ... 24 h) among the edges so the coarse histogram shown on the
page is exact. A percentile read from buckets is within one bucket of the exact value:
within 1 s below 25 s, within 4 % above. Stored sparse as a flat JSON list
[bucket, count, bucket, count, ...] (ints decode fast; no string keys to convert).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable

import numpy as np

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
_DISPLAY_OF_BUCKET = np.array(
    [bisect.bisect_right(DISPLAY_EDGES, EDGES[i - 1] if i else 0) for i in range(len(EDGES) + 1)], dtype=np.int64
)


def bucket_of(value: float) -> int:
    return bisect.bisect_right(EDGES, value)


def from_values(values: Iterable[float]) -> list[int]:
    """The stored form: [bucket, count, ...] in bucket order."""
    counts: dict[int, int] = {}
    for v in values:
        b = bucket_of(v)
        counts[b] = counts.get(b, 0) + 1
    return [x for b in sorted(counts) for x in (b, counts[b])]


class Accumulator:
    """Stored histograms of many roll-up rows, each added to one period (0..n-1); matrix()
    sums them in numpy: a year of daily rows costs a few array operations, not a Python loop
    per bucket."""

    def __init__(self) -> None:
        self._periods: list[int] = []
        self._pairs: list[int] = []

    def add(self, period: int, stored: list[int] | None) -> None:
        if stored:
            self._pairs.extend(stored)
            self._periods.extend([period] * (len(stored) // 2))

    def matrix(self, periods: int) -> np.ndarray:
        """periods x buckets counts."""
        m = np.zeros((periods, N_BUCKETS), dtype=np.int64)
        if self._pairs:
            pairs = np.asarray(self._pairs, dtype=np.int64)
            np.add.at(m, (np.asarray(self._periods, dtype=np.int64), pairs[0::2]), pairs[1::2])
        return m


N_BUCKETS = len(EDGES) + 1
_LOWER = np.array([0.0, *EDGES], dtype=np.float64)
_UPPER = np.array([*EDGES, EDGES[-1] * (1 + RELATIVE_WIDTH)], dtype=np.float64)


def _values_at_ranks(m: np.ndarray, cum: np.ndarray, ranks: np.ndarray) -> np.ndarray:
    """Per row, an estimate of the rank-th smallest value: spread evenly within its bucket."""
    bucket = np.minimum((cum <= ranks[:, None]).sum(axis=1), N_BUCKETS - 1)
    rows = np.arange(len(m))
    n = m[rows, bucket]
    before = cum[rows, bucket] - n
    return _LOWER[bucket] + (_UPPER[bucket] - _LOWER[bucket]) * (ranks - before + 0.5) / np.maximum(n, 1)


def percentiles(m: np.ndarray, q: float) -> list[float | None]:
    """Per row of `m`, like compute.percentile (percentile_cont) on the values behind it,
    within one bucket; None for a row with no values."""
    totals = m.sum(axis=1)
    cum = np.cumsum(m, axis=1)
    pos = np.maximum(totals - 1, 0) * q
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, np.maximum(totals - 1, 0))
    a = _values_at_ranks(m, cum, lo)
    b = _values_at_ranks(m, cum, hi)
    out = a + (b - a) * (pos - lo)
    return [float(v) if t else None for t, v in zip(totals.tolist(), out.tolist(), strict=True)]


def percentile(stored: list[int], q: float) -> float | None:
    """One stored histogram's percentile (see percentiles)."""
    acc = Accumulator()
    acc.add(0, stored)
    return percentiles(acc.matrix(1), q)[0]


def display_counts(counts: np.ndarray) -> list[int]:
    """Counts per DISPLAY_EDGES interval from one row of bucket counts; exact, since those
    edges are bucket edges."""
    return [int(n) for n in np.bincount(_DISPLAY_OF_BUCKET, weights=counts, minlength=len(DISPLAY_EDGES) + 1)]
