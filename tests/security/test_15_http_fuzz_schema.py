"""Issue 9, item 15: a seeded schemathesis run over every operation of /api/schema/
answers no 500.

In-process against the Django app (WSGI handler: same URLconf, middleware and views as
uvicorn serves), authenticated with an API key of a seeded tenant (admin role) whose
widgets, conversations, labels, articles... exist, so that small ids hit real objects.
Positive and negative (schema-violating) inputs. `make test` runs a short pass (2
examples per operation); `make fuzz` a long one (KEFU_FUZZ_EXAMPLES, default 60).
The seed and the number of cases are printed at the end.

Before the fixes the red-team run got 500s from: API-key callers creating imports /
invitations / keys, OPTIONS on ai-policy, POST invitations {}, limit=99999999999999999999
and -1, dates 0001-01-01 / 9999-12-31, a binary .md upload."""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

import pytest
import schemathesis
from django.contrib.auth import get_user_model
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from chat import services as chat
from chat.models import CannedResponse, Contact, Conversation, Label
from ml import services as ml
from ml.models import Intent, KnowledgeArticle
from tenants import services as tenants
from tenants.models import ApiKey, Invitation, Membership, Tenant, Widget
from tests.conftest import make_team

SEED = int(os.environ.get("KEFU_FUZZ_SEED", "20261130"))
EXAMPLES = int(os.environ.get("KEFU_FUZZ_EXAMPLES", "2"))
TENANT, OTHER = "fuzz", "fuzz-other"
_calls: Counter[int] = Counter()
_seeded: dict[str, Any] = {}


def _seed_tenant() -> tuple[str, dict[str, list[int]]]:
    """A tenant with a few objects of every kind; returns an admin API key and, per URL
    resource, the ids of its objects (fuzzed ids are mapped onto them, see below)."""
    team = make_team(TENANT)
    make_team(OTHER)  # a second tenant is always present
    widget, _secret = tenants.create_widget(actor=team.owner, name="Shop", allowed_origins="https://shop.example")
    for i in range(3):
        contact = chat.resolve_visitor(widget=widget, name=f"Visitor {i}")
        posted = chat.send_visitor_message(contact=contact, body=f"where is order 100{i}?", client_msg_id=f"m{i}")
        chat.agent_send(actor=team.agent, conversation_id=posted.conversation.pk, body="Looking now.")
        chat.create_label(actor=team.owner, name=f"label {i}")
        chat.create_canned_response(actor=team.owner, shortcut=f"c{i}", text="Thanks!")
        ml.create_article(actor=team.owner, title=f"Shipping {i}", body="We ship in 2 days.", tags=["s"],
                          status="published", language="en")
        tenants.create_invitation(actor=team.owner, role="agent", email=f"new{i}@fuzz.example.com")
    ml.create_intent(actor=team.owner, name="order_status", description="", escalates=False, examples=["where is my order"])
    tenants.create_api_key(actor=team.owner, name="a key to revoke")
    _fuzz_key, raw = tenants.create_api_key(actor=team.owner, name="fuzz")
    models = {"widgets": Widget, "members": Membership, "invitations": Invitation, "api-keys": ApiKey,
              "conversations": Conversation, "contacts": Contact, "labels": Label, "canned-responses": CannedResponse,
              "articles": KnowledgeArticle, "intents": Intent}
    ids = {name: list(model.objects.for_tenant(team.tenant).values_list("pk", flat=True)) for name, model in models.items()}
    ids["api-keys"].remove(_fuzz_key.pk)  # revoking the caller's own key would end the run
    return raw, ids


# The coverage phase (boundary values of every parameter: ~70 cases per operation) runs
# in `make fuzz`; `make test` runs the examples and a few fuzzed cases per operation.
COVERAGE = os.environ.get("KEFU_FUZZ_COVERAGE", "0") == "1"
CONFIG = schemathesis.Config.from_dict({
    "seed": SEED,
    "generation": {"max-examples": EXAMPLES, "mode": "all"},
    "phases": {"examples": {"enabled": True}, "fuzzing": {"enabled": True}, "coverage": {"enabled": COVERAGE},
               "stateful": {"enabled": False}},
})
# The schema is read from the app itself (no database needed for it).
schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application(), config=CONFIG)


@pytest.fixture(scope="module")
def seeded_tenant(django_db_setup, django_db_blocker):
    """Seeded once for the module (committed); each operation's test runs in a transaction
    that is rolled back, so every operation starts from the same data."""
    with django_db_blocker.unblock():
        _seeded["raw"], _seeded["ids"] = _seed_tenant()
    yield
    with django_db_blocker.unblock():
        users = get_user_model().objects.filter(memberships__tenant__slug__in=[TENANT, OTHER])
        user_ids = list(users.values_list("pk", flat=True))
        Tenant.objects.filter(slug__in=[TENANT, OTHER]).delete()
        get_user_model().objects.filter(pk__in=user_ids).delete()


@pytest.fixture
def seeded(seeded_tenant, db, monkeypatch):
    # HTTP answers only: tasks the calls enqueue (replies, embeddings, imports) are dropped,
    # so no model loads and no thread outlives the test.
    monkeypatch.setattr("tenants.dispatch.send", lambda task, *args: None)
    # As Django's test client does: the request signals must not close the test's connection
    # (it sits in the test's transaction).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture(scope="module", autouse=True)
def _report_counts():
    yield
    print(f"\nschemathesis: seed={SEED} max-examples={EXAMPLES} coverage phase={'on' if COVERAGE else 'off'} "
          f"operations={len(_calls)} cases={sum(_calls.values())}")


@schema.parametrize()
@settings(deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_15_http_fuzz_schema_no_server_error(case, seeded):
    params = case.path_parameters or {}
    if "tenant_slug" in params:
        params["tenant_slug"] = TENANT
    # A well-formed id becomes one of the seeded objects', so handlers run on real rows;
    # malformed ids (strings, floats, negatives) are sent as generated.
    resource = case.operation.path.split("/")[4] if case.operation.path.count("/") > 4 else ""
    known = _seeded["ids"].get(resource)
    if known and isinstance(params.get("id"), int) and params["id"] >= 0:
        params["id"] = known[params["id"] % len(known)]
    _calls[id(case.operation)] += 1
    case.call_and_validate(headers={"Authorization": f"Bearer {_seeded['raw']}"}, checks=[not_a_server_error])
