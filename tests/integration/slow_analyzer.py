"""A deterministic, slow stand-in for ml.api.analyze_and_reply, for the PLUMBING
test of a killed inference worker (queues, streaming, redelivery), never for ML
behaviour. Streams 30 tokens, 0.2 s apart; records each start in KEFU_TEST_MARKER_DIR."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def analyze_and_reply(*, tenant_id: int, conversation: dict[str, Any], on_token: Callable[[str], None] | None = None) -> dict[str, Any]:
    marker_dir = Path(os.environ["KEFU_TEST_MARKER_DIR"])
    (marker_dir / f"start-{os.getpid()}-{time.monotonic_ns()}").touch()
    words = [f"w{i}" for i in range(30)]
    for i, word in enumerate(words):
        time.sleep(0.2)
        if on_token:
            on_token(word if i == 0 else " " + word)
    return {
        "action": "answer",
        "text": " ".join(words),
        "handoff_reason": None,
        "intent": {"name": "faq", "confidence": 0.9, "out_of_scope": False},
        "sentiment": {"label": "neutral", "score": 0.5},
        "language": "en",
        "citations": [],
        "explanation": {"why": "plumbing fake"},
    }
