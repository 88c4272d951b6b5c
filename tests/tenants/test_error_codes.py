"""Service error codes are one enum (tenants.errors.ErrorCode) with an HTTP status each; the
API answers a refusal with that status and {"detail", "code"}."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from tenants.errors import ErrorCode, ServiceError

ROOT = Path(__file__).resolve().parent.parent.parent


def test_every_code_has_one_of_the_five_statuses_and_unknown_codes_are_refused():
    assert {c.http_status for c in ErrorCode} == {400, 403, 404, 409, 429}
    assert (ErrorCode.CONFLICT.http_status, ErrorCode.RATE_LIMITED.http_status) == (409, 429)
    assert ServiceError("x", code="duplicate").code is ErrorCode.DUPLICATE
    with pytest.raises(ValueError):
        ServiceError("x", code="no_such_code")


def test_every_literal_code_in_the_apps_is_in_the_enum():
    found = []
    for path in [p for app in ("chat", "ml", "tenants") for p in (ROOT / app).rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) == "ServiceError":
                for kw in node.keywords:
                    if kw.arg == "code" and isinstance(kw.value, ast.Constant):
                        found.append((str(path.relative_to(ROOT)), kw.value.value))
    assert len(found) > 20
    assert [f for f in found if f[1] not in ErrorCode.__members__.values()] == []


@pytest.mark.django_db
def test_api_answers_409_for_a_duplicate_404_for_a_missing_object_400_for_bad_input(team_a):
    client = APIClient()
    client.force_authenticate(team_a.owner.user)
    intent = {"name": "refunds", "description": "Money back"}
    assert client.post("/api/t/alpha/intents/", intent, format="json").status_code == 201
    dup = client.post("/api/t/alpha/intents/", intent, format="json")
    assert dup.status_code == 409 and dup.json() == {"detail": "An intent with this name exists.", "code": "duplicate"}
    missing = client.post("/api/t/alpha/conversations/999999/labels/", {"labels": []}, format="json")
    assert missing.status_code == 404
    bad = client.post("/api/t/alpha/widgets/", {"name": "Bad", "color": "red"}, format="json")
    assert bad.status_code == 400 and bad.json()["code"] == "invalid"
