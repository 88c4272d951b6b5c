"""Walks every tenant route (API and portal) with two tenants: a member of A gets 404 for
B's objects and for B's tenant prefix, for every method, and sees none of B's objects in
any list. Fails when a route has no case (tests/isolation/cases_<app>.py)."""

from __future__ import annotations

import importlib
import json

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.isolation.cases import Case

CASE_MODULES = [
    "tests.isolation.cases_tenants", "tests.isolation.cases_chat", "tests.isolation.cases_ml", "tests.isolation.cases_reporting",
    "tests.isolation.cases_mail",
]


def all_cases() -> dict[str, Case]:
    cases: dict[str, Case] = {}
    for name in CASE_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError:
            continue
        cases.update(module.CASES)
    return cases


def tenant_routes() -> list[str]:
    """URL names of every route whose pattern takes a tenant_slug."""
    names: list[str] = []

    def walk(patterns, namespace: str, under_tenant: bool) -> None:
        for p in patterns:
            route = str(p.pattern)
            here = under_tenant or "<slug:tenant_slug>" in route
            if isinstance(p, URLResolver):
                ns = f"{namespace}{p.namespace}:" if p.namespace else namespace
                walk(p.url_patterns, ns, here)
            elif isinstance(p, URLPattern) and here and p.name:
                names.append(f"{namespace}{p.name}")

    walk(get_resolver().url_patterns, "", False)
    return sorted(set(names))


def test_every_route_has_a_case():
    missing = [name for name in tenant_routes() if name not in all_cases()]
    assert not missing, f"routes without an isolation case: {missing}"


def _request(client, method: str, url: str, body: dict):
    kwargs = {"content_type": "application/json", "data": json.dumps(body)} if method != "GET" else {}
    return getattr(client, method.lower())(url, **kwargs)


@pytest.mark.django_db
@pytest.mark.parametrize("route", tenant_routes())
def test_member_of_a_cannot_reach_b(client, team_a, team_b, route):
    case = all_cases()[route]
    b_kwargs, b_markers = case.setup(team_b)
    a_kwargs, _a_markers = case.setup(team_a)
    client.force_login(team_a.owner.user)

    for method in case.methods:
        # 1. B's prefix: always 404, whatever the object.
        url = reverse(route, kwargs={"tenant_slug": team_b.tenant.slug, **b_kwargs})
        response = _request(client, method, url, case.body)
        assert response.status_code == 404, f"{method} {url} -> {response.status_code}"
        # 2. A's prefix with B's object ids: 404 (or 405 where the method does not exist).
        if b_kwargs:
            url = reverse(route, kwargs={"tenant_slug": team_a.tenant.slug, **b_kwargs})
            response = _request(client, method, url, case.body)
            assert response.status_code in (404, 405), f"{method} {url} -> {response.status_code}"

    # 3. A's own pages and lists never show B's objects.
    url = reverse(route, kwargs={"tenant_slug": team_a.tenant.slug, **a_kwargs})
    response = client.get(url, follow=True)
    if response.status_code == 200:
        body = response.content.decode()
        for marker in b_markers:
            assert marker not in body, f"{route}: tenant B's {marker!r} visible to tenant A"


@pytest.mark.django_db
@pytest.mark.parametrize("route", tenant_routes())
def test_outsider_and_anonymous_get_nothing(client, team_b, outsider, route):
    case = all_cases()[route]
    b_kwargs, b_markers = case.setup(team_b)
    url = reverse(route, kwargs={"tenant_slug": team_b.tenant.slug, **b_kwargs})
    response = client.get(url)
    assert response.status_code in (302, 401, 403), f"anonymous GET {url} -> {response.status_code}"
    client.force_login(outsider)
    for method in case.methods:
        response = _request(client, method, url, case.body)
        assert response.status_code == 404, f"outsider {method} {url} -> {response.status_code}"
