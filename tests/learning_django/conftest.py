"""Fixtures for the Django side of the learning loop. ML behaviour uses the REAL MiniLM
encoder and real Banking77 data (../shared/data); model artifacts go to a temporary
KEFU_MODEL_DIR; the per-process serving state is dropped between tests."""

from __future__ import annotations

import pytest

INTENTS = ["card_arrival", "lost_or_stolen_card", "exchange_rate", "top_up_failed", "pin_blocked", "change_pin"]


@pytest.fixture(scope="session")
def banking():
    """{intent: [texts]} for a few Banking77 intents (train split), in file order."""
    from ml.datasets import banking77

    texts, labels = banking77("train")
    out: dict[str, list[str]] = {i: [] for i in INTENTS}
    for t, lb in zip(texts, labels, strict=True):
        if lb in out and len(out[lb]) < 60:
            out[lb].append(t)
    return out


@pytest.fixture(scope="session")
def banking_test():
    from ml.datasets import banking77

    texts, labels = banking77("test")
    return [(t, lb) for t, lb in zip(texts, labels, strict=True) if lb in INTENTS][:60]


@pytest.fixture(autouse=True)
def _model_dir_and_state(settings, tmp_path):
    from ml import serving

    settings.KEFU_MODEL_DIR = tmp_path / "models"
    serving.drop_state()
    yield
    serving.drop_state()


def seed_intents(team, banking, per_intent: int) -> None:
    from ml import services

    for name in INTENTS:
        services.create_intent(actor=team.owner, name=name, examples=banking[name][:per_intent])
