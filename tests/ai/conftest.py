"""Fixtures for the AI agent tests. These use the REAL MiniLM encoder (and SmolLM2 where a
test says so); the serving state is per process, so it is dropped between tests."""

from __future__ import annotations

import pytest

from ml import demo, services
from ml.models import ArticleStatus


def seed_team(team, *, articles=None, intents=None, policy=None, use_generator=False):
    actor = team.owner
    created = []
    for a in demo.DEMO_ARTICLES if articles is None else articles:
        created.append(services.create_article(actor=actor, title=a["title"], body=a["body"], tags=a.get("tags", []),
                                               status=a.get("status", ArticleStatus.PUBLISHED)))
    for i in demo.DEMO_INTENTS if intents is None else intents:
        services.create_intent(actor=actor, name=i["name"], description=i["description"], escalates=i["escalates"],
                               examples=i["examples"])
    services.update_policy(actor=actor, **{**demo.DEMO_POLICY, **(policy or {}), "use_generator": use_generator})
    return created


def conversation(text, *, turns=None, bot_turns=0, visitor=None):
    return {
        "id": 1,
        "widget_id": 1,
        "visitor": visitor or {"verified": False, "user_id": None, "email": "", "attributes": {}},
        "turns": list(turns or []),
        "bot_turns": bot_turns,
        "message": {"id": 1, "text": text},
    }


@pytest.fixture(autouse=True)
def _fresh_serving_state():
    from ml import serving

    serving.drop_state()
    yield
    serving.drop_state()
