"""API-key authentication for server-to-server calls (kept apart from tenants.api so
DRF's settings can import it without a cycle)."""

from __future__ import annotations

from dataclasses import dataclass

from rest_framework import authentication, exceptions
from rest_framework.request import Request

from tenants import services
from tenants.models import ApiKey


@dataclass
class ApiKeyPrincipal:
    """request.user for a server-to-server call made with a tenant API key."""

    api_key: ApiKey
    is_authenticated: bool = True
    is_active: bool = True
    is_anonymous: bool = False
    pk: None = None

    def get_username(self) -> str:
        return f"api-key:{self.api_key.name}"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[ApiKeyPrincipal, ApiKey] | None:
        header = authentication.get_authorization_header(request).decode(errors="replace")
        if not header.startswith(f"{self.keyword} {services.API_KEY_PREFIX}"):
            return None
        key = services.authenticate_api_key(raw=header[len(self.keyword) + 1 :].strip())
        if key is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        return ApiKeyPrincipal(api_key=key), key

    def authenticate_header(self, request: Request) -> str:
        return self.keyword
