"""A deterministic fake of ml.api.analyze_and_reply, for PLUMBING tests only
(queues, streaming, handoff, faults). ML behaviour is tested with real models in tests/ml.

Rules: a message containing "human" -> handoff (visitor_request); "boom" -> raises;
"slow" -> sleeps past the timeout; anything else -> an answer streamed in three chunks.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

CALLS: list[dict[str, Any]] = []


def analyze_and_reply(
    *, tenant_id: int, conversation: dict[str, Any], on_token: Callable[[str], None] | None = None
) -> dict[str, Any]:
    CALLS.append({"tenant_id": tenant_id, "conversation": conversation})
    text = conversation["message"]["text"]
    if "boom" in text:
        raise RuntimeError("fake model crashed")
    if "slow" in text:
        time.sleep(5)
    base = {
        "intent": {"name": "faq", "confidence": 0.9, "out_of_scope": False},
        "sentiment": {"label": "neutral", "score": 0.5},
        "language": "en",
        "citations": [],
        "explanation": {"why": "fake"},
    }
    if "human" in text:
        return {**base, "action": "handoff", "text": "Let me get a person for you.", "handoff_reason": "visitor_request"}
    answer = f"Echo: {text}"
    if on_token:
        for part in (answer[:5], answer[5:10], answer[10:]):
            on_token(part)
    return {**base, "action": "answer", "text": answer, "handoff_reason": None}
