"""Loaders for the shared evaluation data (``../shared/data`` or ``KEFU_DATA_DIR``).

Used by benches and tests only; nothing here is shipped inside a tenant model.
Licences: Banking77 CC BY 4.0; Bank FAQs research-only (no licence stated); airline
sentiment CC BY-NC-SA 4.0 (evaluation only, never train a shipped model on it).
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    env = os.environ.get("KEFU_DATA_DIR")
    if env:
        return Path(env)
    return (PROJECT_ROOT / ".." / "shared" / "data").resolve()


def cache_dir() -> Path:
    """Scratch cache for benches (gitignored ``.cache/kefu`` in the project)."""
    d = Path(os.environ.get("KEFU_BENCH_CACHE") or PROJECT_ROOT / ".cache" / "kefu" / "bench")
    d.mkdir(parents=True, exist_ok=True)
    return d


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def banking77(split: str) -> tuple[list[str], list[str]]:
    """(texts, intents) of the Banking77 ``train`` or ``test`` split."""
    rows = _read_csv(data_dir() / "banking77" / f"{split}.csv")
    return [r["text"].strip() for r in rows], [r["category"].strip() for r in rows]


def bank_faqs() -> list[dict[str, Any]]:
    """Deduplicated Bank FAQ pairs: one row per unique answer (its first question kept
    as the query; other questions with the same answer become extra queries)."""
    rows = _read_csv(data_dir() / "faq" / "BankFAQs.csv")
    by_answer: dict[str, dict[str, Any]] = {}
    seen_q: set[str] = set()
    for r in rows:
        q = " ".join((r.get("Question") or "").split())
        a = " ".join((r.get("Answer") or "").split())
        if not q or not a:
            continue
        entry = by_answer.setdefault(a, {"answer": a, "questions": [], "cls": r.get("Class") or ""})
        key = q.lower()
        if key in seen_q:  # same question with two answers: ambiguous, keep the first
            continue
        seen_q.add(key)
        entry["questions"].append(q)
    out = []
    for i, e in enumerate(by_answer.values()):
        out.append({"id": f"faq{i}", "answer": str(e["answer"]), "cls": str(e["cls"]),
                    "questions": list(e["questions"])})
    return out


def airline_sentiment() -> tuple[list[str], list[str]]:
    """(texts, labels in negative/neutral/positive) — evaluation only (CC BY-NC-SA)."""
    rows = _read_csv(data_dir() / "sentiment" / "twitter_us_airline_sentiment.csv")
    return [r["text"] for r in rows], [r["airline_sentiment"] for r in rows]
