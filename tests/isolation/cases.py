"""How the isolation walker reaches each tenant route.

Each app has a module `tests/isolation/cases_<app>.py` with `CASES: dict[str, Case]`,
keyed by URL name (API routes: the DRF name, e.g. "widget-detail"; portal pages: the
namespaced name, e.g. "tenants:members"). `setup(team)` creates objects in that team's
tenant and returns the URL kwargs (besides tenant_slug) plus strings that must never show
in another tenant's responses. A route with no case fails test_every_route_has_a_case.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Case:
    setup: Callable[[Any], tuple[dict[str, Any], list[str]]]
    # Methods to try on the route; unsupported ones must answer 405 or 404, never 2xx/403.
    methods: tuple[str, ...] = ("GET", "POST", "PUT", "PATCH", "DELETE")
    body: dict[str, Any] = field(default_factory=dict)


def no_kwargs(markers: Callable[[Any], list[str]] | None = None) -> Callable[[Any], tuple[dict[str, Any], list[str]]]:
    return lambda team: ({}, markers(team) if markers else [])
