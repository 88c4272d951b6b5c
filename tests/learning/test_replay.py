"""Replay diff: deterministic stub models for the policy logic (no encoder needed)."""

from __future__ import annotations

from ml.learning.replay import ReplayPolicy, replay


def candidate(texts):
    out = []
    for t in texts:
        if "card" in t:
            out.append({"intent": "card_arrival", "confidence": 0.9, "out_of_scope": False})
        elif "angry" in t:
            out.append({"intent": "complaint", "confidence": 0.8, "out_of_scope": False})
        else:
            out.append({"intent": None, "confidence": 0.2, "out_of_scope": True})
    return out


MESSAGES = [
    # serving was unsure -> handed off; candidate is confident: avoided
    {"message_id": 1, "conversation_id": "c1", "text": "where is my card 4111 1111 1111 1111", "serving_intent": None,
     "serving_confidence": 0.2, "action": "handoff", "handoff_reason": "low_confidence"},
    # serving answered; candidate says escalating intent: added
    {"message_id": 2, "conversation_id": "c2", "text": "I am angry about fees", "serving_intent": "fees",
     "serving_confidence": 0.7, "action": "answer"},
    # visitor asked for a human: cannot change whatever the intent
    {"message_id": 3, "conversation_id": "c3", "text": "card, human please", "serving_intent": "card_arrival",
     "serving_confidence": 0.9, "action": "handoff", "handoff_reason": "visitor_request"},
    # same intent, same outcome
    {"message_id": 4, "conversation_id": "c3", "text": "my card has not arrived", "serving_intent": "card_arrival",
     "serving_confidence": 0.8, "action": "answer"},
    # serving answered, candidate out of scope: added (upper bound)
    {"message_id": 5, "conversation_id": "c4", "text": "what's the weather", "serving_intent": "exchange_rate",
     "serving_confidence": 0.5, "action": "answer"},
]


def test_replay_counts_changes_and_handoffs():
    diff = replay(MESSAGES, candidate, policy={"confidence_threshold": 0.35, "escalating_intents": ["complaint"]})
    assert diff["messages"] == 5 and diff["conversations"] == 4
    assert diff["intent_changed"] == 3  # 1 (oos->card), 2 (fees->complaint), 5 (rate->oos)
    assert diff["handoffs_avoided"] == 1 and diff["avoided_by_reason"] == {"low_confidence": 1}
    assert diff["handoffs_added"] == 2
    assert diff["added_by_reason"] == {"escalating_intent": 1, "out_of_scope": 1}
    assert {e["message_id"] for e in diff["added_examples"]} == {2, 5}
    # Diffs are stored with the version: no card number in them.
    assert "4111" not in repr(diff) and "<CARD>" in diff["avoided_examples"][0]["text"]


def test_replay_can_repredict_serving_and_handles_empty():
    def same(texts):
        return candidate(texts)

    diff = replay(MESSAGES, candidate, serving=same, policy=ReplayPolicy())
    assert diff["intent_changed"] == 0 and diff["handoffs_avoided"] == diff["handoffs_added"] == 0
    assert replay([], candidate)["messages"] == 0
