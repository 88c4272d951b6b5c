"""A deterministic stand-in for ml.api.analyze_and_reply that takes a fixed time per reply
(KEFU_TEST_ANALYZER_DELAY_S, default 0.5 s), for the PLUMBING test of queue fairness:
what matters is how long replies wait for each other, not what they say."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any


def analyze_and_reply(*, tenant_id: int, conversation: dict[str, Any], on_token: Callable[[str], None] | None = None) -> dict[str, Any]:
    time.sleep(float(os.environ.get("KEFU_TEST_ANALYZER_DELAY_S", "0.5")))
    return {
        "action": "answer",
        "text": f"Paced: {conversation['message']['text']}",
        "handoff_reason": None,
        "intent": {"name": "faq", "confidence": 0.9, "out_of_scope": False},
        "sentiment": {"label": "neutral", "score": 0.5},
        "language": "en",
        "citations": [],
        "explanation": {"why": "plumbing fake"},
    }
