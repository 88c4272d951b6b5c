"""Candidate training on real Banking77 data with the real MiniLM encoder."""

from __future__ import annotations

import pytest

from ml.learning.dataset import Record, build_training_set
from ml.learning.gate import compare
from ml.learning.model import LinearIntentModel, load_model
from ml.learning.trainer import Cancelled, TrainParams, code_version, train_candidate
from ml.nlu.intent import IntentClassifier


@pytest.fixture(scope="module")
def dataset(banking_subset):
    texts, labels = banking_subset
    return build_training_set([Record(t, lb) for t, lb in zip(texts, labels, strict=True)])


@pytest.fixture(scope="module")
def trained(dataset, encode, tmp_path_factory):
    events = []
    out = tmp_path_factory.mktemp("reg") / "v1"
    res = train_candidate(dataset, out_dir=out, encode=encode, finetune=False,
                          progress=lambda *e: events.append(e))
    return res, events


def test_candidate_metrics_progress_and_artifact(trained, dataset, encode):
    res, events = trained
    m = res.metrics
    assert m["n_validation"] == len(dataset.validation) > 30
    assert m["accuracy"] > 0.85 and m["macro_f1"] > 0.85
    assert 0.0 <= m["ece"] <= 1.0 and isinstance(m["confused_pairs"], list)
    assert m["validation_hash"] == dataset.snapshot.validation_hash
    stages = [e[0] for e in events]
    assert {"embedding", "fitting", "evaluating", "saving"} <= set(stages)
    assert any(e[0] == "fitting" and e[3] is not None for e in events)  # loss reported
    assert res.training_seconds > 0 and len(code_version()) == 12
    # The artifact reloads to the same predictions (what an inference worker does).
    assert m["backend"] == "intent" and 0.0 <= m["end_to_end"]["accuracy"] <= m["accuracy"]
    loaded = load_model(res.artifact_dir)
    assert isinstance(loaded, IntentClassifier)
    texts = [e.text for e in dataset.validation[:10]]
    assert [p.intent for p in loaded.predict(texts)] == [p.intent for p in res.model.predict(texts)]


def test_linear_backend_reports_loss_and_reloads(dataset, encode, tmp_path):
    events = []
    res = train_candidate(dataset, out_dir=tmp_path / "lin", encode=encode, finetune=False, backend="linear",
                          progress=lambda *e: events.append(e))
    assert res.metrics["macro_f1"] > 0.85
    assert any(e[0] == "fitting" and e[3] is not None for e in events)
    loaded = load_model(tmp_path / "lin")
    assert isinstance(loaded, LinearIntentModel)
    loaded._encode = encode
    texts = [e.text for e in dataset.validation[:10]]
    assert [p["intent"] for p in loaded.predict(texts)] == [p["intent"] for p in res.model.predict(texts)]


def test_cancel_leaves_nothing(dataset, encode, tmp_path):
    calls = {"n": 0}

    def should_cancel():
        calls["n"] += 1
        return calls["n"] > 2

    with pytest.raises(Cancelled):
        train_candidate(dataset, out_dir=tmp_path / "v2", encode=encode, finetune=False, should_cancel=should_cancel)
    assert list(tmp_path.iterdir()) == []


def test_crash_mid_training_leaves_nothing(dataset, tmp_path):
    def broken_encoder(texts):
        raise RuntimeError("worker killed")

    with pytest.raises(RuntimeError):
        train_candidate(dataset, out_dir=tmp_path / "v3", encode=broken_encoder, finetune=False)
    assert list(tmp_path.iterdir()) == []


def test_better_model_promoted_worse_not(trained, dataset, encode):
    res, _ = trained
    # A "serving" model trained on 3 examples per intent: clearly worse on the same data.
    few = {}
    for e in dataset.train:
        few.setdefault(e.label, [])
        if len(few[e.label]) < 3:
            few[e.label].append(e.text)
    weak = LinearIntentModel(encode=encode).fit([t for ts in few.values() for t in ts],
                                                 [lb for lb, ts in few.items() for _ in ts])
    vt, vl = dataset.texts_labels("validation")
    up = compare(res.model, weak, vt, vl, validation_hash=dataset.snapshot.validation_hash)
    assert up.decision.promote, up.decision.reason
    down = compare(weak, res.model, vt, vl)
    assert not down.decision.promote and "macro-F1" in down.decision.reason


def test_encoder_finetune_path_runs_on_cpu(dataset, tmp_path):
    """The CUDA path, forced on CPU for two tiny steps: plumbing only, not quality."""
    small = build_training_set([Record(e.text, e.label) for e in dataset.train[:40]], validation_fraction=0.0)
    res = train_candidate(small, out_dir=tmp_path / "ft", finetune=True,
                          params=TrainParams(finetune_max_steps=2, finetune_batch=8))
    assert res.metrics["finetuned_encoder"]
    assert (tmp_path / "ft" / "encoder" / "config.json").exists()
    loaded = load_model(tmp_path / "ft")
    assert loaded.encoder is not None and loaded.encoder.model_dir == tmp_path / "ft" / "encoder"
    assert loaded.predict(["my card has not arrived yet"])[0].intent in small.labels
