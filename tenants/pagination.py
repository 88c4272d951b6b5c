"""API paging and bounded integer query parameters: a value out of range is a 400 with
a message naming the parameter, never a silent default and never a 500 from SQL (a
`LIMIT 99999999999999999999` overflows PostgreSQL's bigint; a negative slice crashes)."""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request

MAX_PAGE_SIZE = 1000
MAX_OFFSET = 10**9


def bounded_int(params: Any, name: str, *, default: int, minimum: int, maximum: int) -> int:
    """`params[name]` as an int in [minimum, maximum]; absent -> default; else 400."""
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(str(raw).strip())
    except ValueError:
        value = None
    if value is None or not minimum <= value <= maximum:
        # The same shape as a service's refusal (tenants.api.raise_api_error).
        raise exceptions.ValidationError(
            {"detail": f"{name} takes integers from {minimum} to {maximum}.", "code": "invalid"}
        )
    return value


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    """LimitOffsetPagination that answers 400 for a limit outside 1..1000 or a bad offset."""

    max_limit = MAX_PAGE_SIZE

    def get_limit(self, request: Request) -> int:
        return bounded_int(
            request.query_params, self.limit_query_param, default=self.default_limit or 50, minimum=1,
            maximum=MAX_PAGE_SIZE,
        )

    def get_offset(self, request: Request) -> int:
        return bounded_int(request.query_params, self.offset_query_param, default=0, minimum=0, maximum=MAX_OFFSET)
