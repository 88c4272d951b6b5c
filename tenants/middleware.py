"""`Cache-Control: private, no-store` on every response that depends on who asks.

Portal pages, the API, CSV exports and the responses that carry a secret once (rotated
identity secret, new API key, invitation link) must never sit in a shared proxy or the
browser's disk cache (issue 9 #13). A response is private when the caller is
authenticated (session or API key), sent an Authorization header, or the response varies
on Cookie (a session or CSRF token was used). Responses that declare themselves `public`
(widget.js) keep their caching, and static files never reach this middleware (WhiteNoise
answers them first).
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import has_vary_header

PRIVATE = "private, no-store"


def is_private(request: HttpRequest, response: HttpResponse) -> bool:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return True
    if "HTTP_AUTHORIZATION" in request.META:
        return True
    return has_vary_header(response, "Cookie") or has_vary_header(response, "Authorization")


class PrivateNoStoreMiddleware:
    """Sits outside SessionMiddleware so it sees the `Vary: Cookie` that one adds."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "public" in response.get("Cache-Control", ""):
            return response
        if is_private(request, response):
            response["Cache-Control"] = PRIVATE
        return response
