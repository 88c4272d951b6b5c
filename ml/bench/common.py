"""Bench helpers: cached embeddings (wall time recorded), tables, JSON output."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ml.datasets import PROJECT_ROOT, cache_dir


def embed_cached(name: str, texts: Sequence[str], *, use_cache: bool = True) -> tuple[np.ndarray, float, bool]:
    """(embeddings, seconds it took to compute them, came_from_cache).

    The seconds are those measured when the embeddings were computed, so a rerun that
    reads the cache still reports honest end-to-end time.
    """
    key = hashlib.sha256("\x1e".join(texts).encode()).hexdigest()[:16]
    path = cache_dir() / f"emb-{name}-{key}.npz"
    if use_cache and path.exists():
        arr = np.load(path)
        return arr["emb"], float(arr["seconds"]), True
    from ml.backends.embeddings import get_encoder

    enc = get_encoder()
    t0 = time.perf_counter()
    emb = enc.encode(list(texts), batch_size=64)
    secs = time.perf_counter() - t0
    np.savez(path, emb=emb, seconds=np.float64(secs))
    return emb, secs, False


def table(rows: list[list[Any]], header: list[str]) -> str:
    cells = [[str(h) for h in header]] + [[_fmt(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = [" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)) for r in cells]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4f}" if abs(v) < 10 else f"{v:.1f}"
    return str(v)


def write_results(name: str, data: dict[str, Any]) -> Path:
    out = PROJECT_ROOT / "bench-results"
    out.mkdir(exist_ok=True)
    path = out / f"{name}.json"
    path.write_text(json.dumps(data, indent=2, default=float))
    return path
