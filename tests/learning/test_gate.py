"""Promotion gate: both branches, on metric dicts and on real predictions (no model)."""

from __future__ import annotations

from ml.learning.gate import GatePolicy, compare, decide


def m(f1, oos=None, acc=None, ece=0.05, n=100, vh="v1"):
    return {"n": n, "macro_f1": f1, "accuracy": f1 if acc is None else acc, "oos_recall": oos,
            "ece": ece, "validation_hash": vh}


def test_better_candidate_is_promoted():
    promote, reason = decide(m(0.90, oos=0.80), m(0.88, oos=0.80))
    assert promote and "+2.0 pt" in reason


def test_gain_below_margin_is_not_promoted():
    promote, reason = decide(m(0.883), m(0.880))
    assert not promote and "needs at least +0.5 pt" in reason


def test_oos_recall_loss_blocks_promotion():
    promote, reason = decide(m(0.95, oos=0.60), m(0.90, oos=0.80))
    assert not promote and "out-of-scope recall" in reason
    promote, _ = decide(m(0.95, oos=0.60), m(0.90, oos=0.80), GatePolicy(max_oos_recall_drop=0.5))
    assert promote


def test_different_validation_data_is_refused():
    promote, reason = decide(m(0.99, vh="x"), m(0.50, vh="y"))
    assert not promote and "same validation data" in reason


def test_first_model_and_policy_from_dict():
    assert decide(m(0.4), None).promote
    assert not decide(m(0.4), None, GatePolicy.from_dict({"min_first_macro_f1": 0.5, "junk": 1})).promote
    assert not decide(m(0.9, n=3), m(0.1, n=3), GatePolicy(min_validation_examples=10)).promote


def test_compare_scores_both_models_on_the_same_texts():
    texts = ["card lost", "card stolen", "refund please", "weather today"]
    labels = ["lost_card", "lost_card", "refund", None]
    def good(ts):
        return [("lost_card", 0.9) if "card" in t else ("refund", 0.8) if "refund" in t else (None, 0.3) for t in ts]

    def bad(ts):
        return [("refund", 0.9) for _ in ts]

    cmp = compare(good, bad, texts, labels, validation_hash="h")
    assert cmp.decision.promote
    assert cmp.candidate["accuracy"] == 1.0 and cmp.candidate["oos_recall"] == 1.0
    assert cmp.serving["confused_pairs"][0] == {"true": "lost_card", "pred": "refund", "count": 2}
    assert not compare(bad, good, texts, labels).decision.promote
