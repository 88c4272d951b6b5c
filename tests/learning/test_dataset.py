"""Training-set building: dedup, deleted visitors, stable split, scheduler check (no model)."""

from __future__ import annotations

from ml.learning.dataset import OUT_OF_SCOPE, Record, build_training_set, enough_new_data, normalise


def _records(n_per_label=30, labels=("a", "b", "c")):
    return [Record(f"question {i} about {lb}", lb) for lb in labels for i in range(n_per_label)]


def test_deleted_visitors_excluded_and_duplicates_merged():
    recs = [
        Record("Where is my card?", "card_arrival", source="example"),
        Record("where is my card", "lost_card", source="confirmed"),  # dup, weaker source
        Record("  WHERE is my   card?! ", "card_delivery", source="relabel"),  # dup, strongest
        Record("secret text from a deleted visitor", "card_arrival", visitor_deleted=True),
        Record("   ", "card_arrival"),
        {"text": "unknown thing", "label": None, "source": "relabel"},
    ]
    ts = build_training_set(recs, validation_fraction=0.0)
    texts = {e.text: e.label for e in ts.train}
    assert len(texts) == 2
    assert texts["WHERE is my card?!"] == "card_delivery"
    assert texts["unknown thing"] == OUT_OF_SCOPE
    assert not any("deleted" in t for t in texts)
    assert ts.stats["dropped_deleted_visitor"] == 1 and ts.stats["duplicates"] == 2
    assert ts.stats["label_conflicts"] == 2


def test_split_is_deterministic_and_stable_when_data_grows():
    base = _records()
    ts1 = build_training_set(base)
    ts2 = build_training_set(list(reversed(base)))
    assert ts1.snapshot.hash == ts2.snapshot.hash
    assert ts1.validation == sorted(ts2.validation, key=lambda e: normalise(e.text))
    grown = build_training_set(base + [Record(f"new question {i} about a", "a") for i in range(40)])
    old_val = {e.text for e in ts1.validation}
    new_val = {e.text for e in grown.validation}
    assert old_val <= new_val  # nothing that was validation moved into train
    assert {e.text for e in ts1.train} <= {e.text for e in grown.train}
    assert 0.1 < len(ts1.validation) / (len(ts1.train) + len(ts1.validation)) < 0.3
    assert grown.snapshot.hash != ts1.snapshot.hash


def test_every_label_keeps_a_training_example():
    recs = _records() + [Record("a single example of a rare intent", "rare")]
    ts = build_training_set(recs, validation_fraction=0.99)
    assert "rare" in ts.labels
    assert any(e.label == "rare" for e in ts.train)


def test_enough_new_data():
    ts = build_training_set(_records())
    assert enough_new_data(None, ts).retrain
    assert not enough_new_data(ts.snapshot.to_dict(), ts).retrain  # unchanged
    few = build_training_set(_records() + [Record(f"extra {i} for b", "b") for i in range(5)])
    check = enough_new_data(ts.snapshot.to_dict(), few, min_new=20)
    assert not check.retrain and check.new_examples == 5
    many = build_training_set(_records() + [Record(f"extra {i} for b", "b") for i in range(25)])
    assert enough_new_data(ts.snapshot, many, min_new=20).retrain
    # Relabels count even though the size is unchanged.
    relabelled = build_training_set([Record(r.text, "c" if r.label == "a" else r.label, source="relabel")
                                     for r in _records()])
    assert enough_new_data(ts.snapshot, relabelled, min_new=20).new_examples == 30
    tiny = build_training_set([Record("hello there", "greet")])
    assert not enough_new_data(None, tiny).retrain
