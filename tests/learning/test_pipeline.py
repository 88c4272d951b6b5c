"""retrain(): the one call the retrain_tenant task makes (real MiniLM, Banking77 subset)."""

from __future__ import annotations

import pytest

from ml.learning.dataset import Record
from ml.learning.pipeline import retrain
from ml.learning.trainer import TrainParams

FAST = TrainParams(intent_params={"embedding_weight": 2.0, "C": 10.0, "knn_weight": 0.3})


@pytest.fixture(scope="module")
def records(banking_subset):
    texts, labels = banking_subset
    return [Record(t, lb) for t, lb in zip(texts, labels, strict=True)]


def test_scheduled_retrain_with_too_little_new_data_does_nothing(records, encode, tmp_path):
    first = retrain(records, out_dir=tmp_path / "v1", scheduled=True, encode=encode, finetune=False, params=FAST,
                    replay_messages=[{"text": "my card still has not arrived", "serving_intent": None,
                                      "action": "handoff", "handoff_reason": "low_confidence"}])
    assert first.trained and first.promote and "no serving model" in first.reason
    assert first.replay["handoffs_avoided"] == 1
    assert first.summary()["metrics"]["macro_f1"] > 0.8
    more = records + [Record(f"card arrival question number {i}", "card_arrival") for i in range(5)]
    skipped = retrain(more, out_dir=tmp_path / "v2", scheduled=True, serving_snapshot=first.snapshot,
                      serving_artifact_dir=first.candidate.artifact_dir, encode=encode, finetune=False, params=FAST)
    assert not skipped.trained and not skipped.promote and "fewer than 20" in skipped.reason
    assert not (tmp_path / "v2").exists()
    # "Retrain now" ignores the threshold; the same data (deterministic training) cannot
    # beat the serving model by the margin.
    manual = retrain(records, out_dir=tmp_path / "v3", serving_snapshot=first.snapshot,
                     serving_artifact_dir=first.candidate.artifact_dir, encode=encode, finetune=False, params=FAST)
    assert manual.trained and not manual.promote and "needs at least" in manual.reason
    assert manual.gate["serving"]["n"] == manual.gate["candidate"]["n"]
