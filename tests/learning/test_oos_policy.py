"""The out-of-scope operating point as a policy (issue 12): the thresholds reject at most the
tenant's budget of in-scope validation messages, the similarity floor comes from the data
(not a fixed grid's edge), and the curve lists the operating points. Synthetic score
arrays with known answers, then one real model trained through IntentClassifier.train on
Banking77 with held-out intents as OOS (real MiniLM)."""

from __future__ import annotations

import numpy as np

from ml.nlu.intent import DEFAULT_MAX_IN_SCOPE_REJECT, _tune_oos, oos_curve


def _scores(seed=0):
    rng = np.random.default_rng(seed)
    in_p, in_s = rng.uniform(0.3, 1.0, 1000), rng.uniform(0.55, 0.95, 1000)
    oos_p, oos_s = rng.uniform(0.05, 0.6, 300), rng.uniform(0.3, 0.7, 300)
    return in_p, in_s, oos_p, oos_s


def test_default_budget_is_three_percent_and_respected():
    assert DEFAULT_MAX_IN_SCOPE_REJECT == 0.03
    in_p, in_s, oos_p, oos_s = _scores()
    for budget in (0.0, 0.01, 0.03, 0.08):
        pt, st = _tune_oos(in_p, in_s, oos_p, oos_s, budget)
        assert float(((in_p < pt) | (in_s < st)).mean()) <= budget + 1e-12


def test_similarity_floor_is_chosen_from_the_data_above_the_old_grid_edge():
    # In-scope similarities all above 0.6: the old fixed grid stopped at 0.5, a floor of
    # ~0.6 separates these OOS messages; it must be found.
    rng = np.random.default_rng(1)
    in_p, in_s = np.full(500, 0.9), rng.uniform(0.62, 0.95, 500)
    oos_p, oos_s = np.full(200, 0.9), rng.uniform(0.3, 0.61, 200)
    pt, st = _tune_oos(in_p, in_s, oos_p, oos_s, 0.03)
    assert 0.5 < st <= 0.65
    assert float((oos_s < st).mean()) == 1.0 and float((in_s < st).mean()) <= 0.03


def test_curve_is_monotone_in_the_budget():
    in_p, in_s, oos_p, oos_s = _scores(2)
    curve = oos_curve(in_p, in_s, oos_p, oos_s)
    budgets = [c["budget"] for c in curve]
    assert budgets == sorted(budgets) and 0.03 in budgets
    recalls = [c["oos_recall"] for c in curve]
    assert recalls == sorted(recalls) and recalls[-1] > recalls[0]
    for c in curve:
        assert c["in_scope_reject"] <= c["budget"] + 1e-12
        assert 0.0 <= c["oos_precision"] <= 1.0


def test_trained_model_keeps_the_budget_and_records_the_curve(encode, banking_subset):
    from ml.nlu.intent import IntentClassifier

    texts, labels = banking_subset
    oos_labels = {"refund_not_showing_up", "cash_withdrawal_charge"}
    keep = [i for i, lb in enumerate(labels) if lb not in oos_labels]
    oos = [texts[i] for i, lb in enumerate(labels) if lb in oos_labels]
    kt, kl = [texts[i] for i in keep], [labels[i] for i in keep]
    model = IntentClassifier.train(kt, kl, embeddings=encode(kt), oos_texts=oos, oos_embeddings=encode(oos),
                                   params={"C": 10.0}, max_in_scope_reject=0.02)
    assert model.info["oos_budget"] == 0.02
    point = next(c for c in model.info["oos_curve"] if c["budget"] == 0.02)
    assert point["in_scope_reject"] <= 0.02
    assert (point["prob_threshold"], point["sim_threshold"]) == (model.prob_threshold, model.sim_threshold)
