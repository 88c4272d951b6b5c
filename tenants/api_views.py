"""Tenant settings over the API: members, invitations, widgets, API keys. Thin: one
service or selector call per handler; errors from services become 400/403/404."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from tenants import services
from tenants.api import TenantViewSet
from tenants.models import ApiKey, Invitation, Membership, Tenant, Widget
from tenants.serializers import (
    ApiKeyCreatedSerializer,
    ApiKeySerializer,
    InvitationCreatedSerializer,
    InvitationSerializer,
    MembershipSerializer,
    PrivacySettingsSerializer,
    RoleSerializer,
    SecretSerializer,
    WidgetCreatedSerializer,
    WidgetSerializer,
)


class MemberViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    model = Membership
    serializer_class = MembershipSerializer

    def scope_queryset(self, queryset: Any) -> Any:
        return queryset.select_related("user").order_by("created_at")

    @extend_schema(request=RoleSerializer, responses=MembershipSerializer)
    def partial_update(self, request: Request, tenant_slug: str, pk: str) -> Response:
        self.get_object()
        data = RoleSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        membership = self.run_service(services.change_role, membership_id=int(pk), role=data.validated_data["role"])
        return Response(MembershipSerializer(membership).data)

    def destroy(self, request: Request, tenant_slug: str, pk: str) -> Response:
        self.get_object()
        self.run_service(services.remove_member, membership_id=int(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class InvitationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    model = Invitation
    serializer_class = InvitationSerializer
    read_roles = services.ADMIN_ROLES

    def scope_queryset(self, queryset: Any) -> Any:
        return queryset.order_by("-created_at")

    @extend_schema(request=InvitationSerializer, responses={201: InvitationCreatedSerializer})
    def create(self, request: Request, tenant_slug: str) -> Response:
        data = InvitationSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        invitation, token = self.run_service(
            services.create_invitation, role=data.validated_data["role"], email=data.validated_data.get("email", "")
        )
        invitation.invite_url = settings.PUBLIC_BASE_URL + reverse("accept-invitation", args=[token])  # type: ignore[attr-defined]
        return Response(InvitationCreatedSerializer(invitation).data, status=status.HTTP_201_CREATED)

    def destroy(self, request: Request, tenant_slug: str, pk: str) -> Response:
        self.get_object()
        self.run_service(services.revoke_invitation, invitation_id=int(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class WidgetViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    model = Widget
    serializer_class = WidgetSerializer

    def scope_queryset(self, queryset: Any) -> Any:
        return queryset.order_by("created_at")

    def _fields(self, request: Request, instance: Widget | None = None) -> dict[str, Any]:
        data = WidgetSerializer(instance, data=request.data, partial=instance is not None)
        data.is_valid(raise_exception=True)
        merged = {} if instance is None else WidgetSerializer(instance).data
        merged.update(data.validated_data)
        return {k: merged[k] for k in ("name", "allowed_origins", "color", "greeting", "locale") if k in merged}

    @extend_schema(request=WidgetSerializer, responses={201: WidgetCreatedSerializer})
    def create(self, request: Request, tenant_slug: str) -> Response:
        widget, secret = self.run_service(services.create_widget, **self._fields(request))
        widget.identity_secret = secret
        return Response(WidgetCreatedSerializer(widget).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=WidgetSerializer, responses=WidgetSerializer)
    def partial_update(self, request: Request, tenant_slug: str, pk: str) -> Response:
        widget: Widget = self.get_object()  # type: ignore[assignment]
        widget = self.run_service(services.update_widget, widget_id=widget.pk, **self._fields(request, widget))
        return Response(WidgetSerializer(widget).data)

    def destroy(self, request: Request, tenant_slug: str, pk: str) -> Response:
        widget = self.get_object()
        self.run_service(services.delete_widget, widget_id=widget.pk)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses=SecretSerializer)
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request: Request, tenant_slug: str, pk: str) -> Response:
        widget = self.get_object()
        secret = self.run_service(services.rotate_widget_secret, widget_id=widget.pk)
        return Response({"identity_secret": secret})


class ApiKeyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    model = ApiKey
    serializer_class = ApiKeySerializer
    read_roles = services.ADMIN_ROLES

    def scope_queryset(self, queryset: Any) -> Any:
        return queryset.filter(revoked_at__isnull=True).order_by("created_at")

    @extend_schema(request=ApiKeySerializer, responses={201: ApiKeyCreatedSerializer})
    def create(self, request: Request, tenant_slug: str) -> Response:
        data = ApiKeySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        key, raw = self.run_service(services.create_api_key, name=data.validated_data["name"])
        key.key = raw  # type: ignore[attr-defined]
        return Response(ApiKeyCreatedSerializer(key).data, status=status.HTTP_201_CREATED)

    def destroy(self, request: Request, tenant_slug: str, pk: str) -> Response:
        key = self.get_object()
        self.run_service(services.revoke_api_key, api_key_id=key.pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PrivacySettingsViewSet(TenantViewSet):
    """The tenant's privacy settings (owners and admins): GET and PATCH /privacy/."""

    model = Tenant
    serializer_class = PrivacySettingsSerializer
    read_roles = services.ADMIN_ROLES

    @extend_schema(responses=PrivacySettingsSerializer)
    def retrieve(self, request: Request, tenant_slug: str) -> Response:
        return Response(PrivacySettingsSerializer(self.tenant).data)

    @extend_schema(request=PrivacySettingsSerializer, responses=PrivacySettingsSerializer)
    def partial_update(self, request: Request, tenant_slug: str) -> Response:
        data = PrivacySettingsSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        tenant = self.run_service(services.set_retention, days=data.validated_data["retention_days"])
        return Response(PrivacySettingsSerializer(tenant).data)
