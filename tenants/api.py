"""The one base for tenant API views (DESIGN.md, "Tenancy", layer 3).

Routes live under /api/t/<tenant_slug>/. `TenantViewSet` resolves the tenant and the
caller's role before any handler runs, scopes every queryset to that tenant, and turns
"not a member" into the same 404 as "no such object". Subclasses cannot override the
methods that do this (checked when the class is defined).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, NoReturn

from django.db.models import Model, QuerySet
from rest_framework import exceptions, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from tenants import selectors
from tenants.authentication import ApiKeyPrincipal
from tenants.errors import ServiceError
from tenants.models import ADMIN_ROLES, Membership, Tenant


@dataclass
class Caller:
    tenant: Tenant
    role: str
    membership: Membership | None  # None for API keys

    @property
    def is_admin(self) -> bool:
        return self.role in ADMIN_ROLES


def resolve_caller(request: Request, tenant_slug: str) -> Caller:
    user = request.user
    if isinstance(user, ApiKeyPrincipal):
        if user.api_key.tenant.slug != tenant_slug:
            raise exceptions.NotFound()
        return Caller(tenant=user.api_key.tenant, role=user.api_key.role, membership=None)
    membership = selectors.membership_for(user=user, tenant_slug=tenant_slug)
    if membership is None:
        raise exceptions.NotFound()
    return Caller(tenant=membership.tenant, role=membership.role, membership=membership)


class ServiceRefused(exceptions.APIException):
    """A service's refusal: the HTTP status of its ErrorCode (400/403/404/409/429) and a body
    of {"detail": message, "code": code}."""

    def __init__(self, exc: ServiceError) -> None:
        super().__init__({"detail": exc.message, "code": str(exc.code)})
        self.status_code = exc.code.http_status


def raise_api_error(exc: ServiceError) -> NoReturn:
    """A service's refusal as the matching API error."""
    raise ServiceRefused(exc)


_SEALED = ("initial", "get_queryset", "get_object")


class TenantViewSet(viewsets.GenericViewSet):
    """Subclasses set `model` and optionally `write_roles` and `order_by`, and refine with
    `scope_queryset`."""

    model: ClassVar[type[Model]]
    order_by: ClassVar[tuple[str, ...]] = ()
    read_roles: ClassVar[frozenset[str]] = frozenset({"owner", "admin", "agent"})
    write_roles: ClassVar[frozenset[str]] = ADMIN_ROLES
    caller: Caller

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name in _SEALED:
            if name in cls.__dict__:
                raise TypeError(f"{cls.__name__} may not override {name}(): tenant scoping lives there")

    @property
    def tenant(self) -> Tenant:
        return self.caller.tenant

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        self.caller = resolve_caller(request, self.kwargs["tenant_slug"])
        allowed = self.read_roles if request.method in ("GET", "HEAD", "OPTIONS") else self.write_roles
        if self.caller.role not in allowed:
            raise exceptions.PermissionDenied("Your role does not allow this.")

    def get_queryset(self) -> QuerySet:
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return self.model.all_tenants.none()  # type: ignore[attr-defined]
        queryset = self.model.objects.for_tenant(self.tenant)  # type: ignore[attr-defined]
        return self.scope_queryset(queryset.order_by(*self.order_by) if self.order_by else queryset)

    def get_object(self) -> Model:
        return super().get_object()

    def actor(self) -> Membership:
        """Who acts in services: the member, or for an API key an unsaved membership of
        its tenant with the key's role (no user: nothing is authored by a person)."""
        if self.caller.membership is not None:
            return self.caller.membership
        return Membership(tenant=self.caller.tenant, role=self.caller.role, user=None)

    def run_service(self, fn: Any, /, **kwargs: Any) -> Any:
        """Call a service as `actor()`; its refusal becomes the matching API error."""
        try:
            return fn(actor=self.actor(), **kwargs)
        except ServiceError as exc:
            raise_api_error(exc)

    def validated(
        self, serializer_class: type[serializers.Serializer], /, instance: Model | None = None, *, partial: bool = False
    ) -> dict[str, Any]:
        """The request body as `serializer_class` validates it (a 400 with the field errors otherwise)."""
        serializer = serializer_class(instance, data=self.request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data  # type: ignore[return-value]

    def created(self, serializer_class: type[serializers.Serializer], obj: Any, /) -> Response:
        """A 201 with the new object as `serializer_class` shows it."""
        return Response(serializer_class(obj).data, status=status.HTTP_201_CREATED)

    def scope_queryset(self, queryset: QuerySet) -> QuerySet:
        """Hook: narrow (never widen) the tenant's queryset."""
        return queryset

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()
        if hasattr(self, "caller"):
            context["tenant"] = self.tenant
            context["caller"] = self.caller
        return context


class ServiceDestroyMixin:
    """DELETE on a TenantViewSet through a service: `destroy_service` names the service and
    the keyword it takes the object's id by."""

    destroy_service: ClassVar[tuple[Callable[..., Any], str]]

    def destroy(self: Any, request: Request, tenant_slug: str, pk: str) -> Response:
        """The tenant's object (404 when it is not theirs) removed by the service as `actor()`; a 204."""
        fn, id_kwarg = self.destroy_service
        obj = self.get_object()
        self.run_service(fn, **{id_kwarg: obj.pk})
        return Response(status=status.HTTP_204_NO_CONTENT)


class ServiceCreateMixin:
    """POST on a TenantViewSet through a service: the body as `serializer_class` validates it
    goes to `create_service` as its keyword arguments; a 201 with the new object."""

    create_service: ClassVar[Callable[..., Any]]

    def create(self: Any, request: Request, tenant_slug: str) -> Response:
        obj = self.run_service(self.create_service, **self.validated(self.serializer_class))
        return self.created(self.serializer_class, obj)
