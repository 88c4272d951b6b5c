"""Fixtures for the learning-loop tests: one real MiniLM encoder for the whole session
(loading it per test would dominate the run time), memoised per text since several
tests train on the same subset and a small Banking77 subset."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def encode():
    import numpy as np

    from ml.backends.embeddings import get_encoder

    enc = get_encoder()
    memo: dict[str, np.ndarray] = {}

    def _encode(texts):
        texts = list(texts)
        missing = sorted({t for t in texts if t not in memo})
        if missing:
            memo.update(zip(missing, enc.encode(missing), strict=True))
        return np.stack([memo[t] for t in texts]) if texts else np.zeros((0, enc.dim), dtype=np.float32)

    return _encode


@pytest.fixture(scope="session")
def banking_subset():
    """(texts, labels) for 8 Banking77 intents, 40 train examples each (real data)."""
    from ml.datasets import banking77

    texts, labels = banking77("train")
    keep = ["card_arrival", "lost_or_stolen_card", "exchange_rate", "top_up_failed", "pin_blocked",
            "cash_withdrawal_charge", "change_pin", "refund_not_showing_up"]
    out_t, out_l, counts = [], [], dict.fromkeys(keep, 0)
    for t, lb in zip(texts, labels, strict=True):
        if lb in counts and counts[lb] < 40:
            counts[lb] += 1
            out_t.append(t)
            out_l.append(lb)
    return out_t, out_l
