"""Tenant settings over the API: members, invitations, widgets, API keys. Thin: one
service or selector call per handler; errors from services become 400/403/404."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import mixins
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from tenants import services
from tenants.api import ServiceDestroyMixin, TenantViewSet
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
from tenants.widget_hours import set_widget_hours


class MemberViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ServiceDestroyMixin, TenantViewSet):
    model = Membership
    serializer_class = MembershipSerializer
    destroy_service = (services.remove_member, "membership_id")

    def scope_queryset(self, queryset: Any) -> Any:
        return queryset.select_related("user").order_by("created_at")

    @extend_schema(request=RoleSerializer, responses=MembershipSerializer)
    def partial_update(self, request: Request, tenant_slug: str, pk: str) -> Response:
        self.get_object()
        v = self.validated(RoleSerializer)
        membership = self.run_service(services.change_role, membership_id=int(pk), role=v["role"])
        return Response(MembershipSerializer(membership).data)


class InvitationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ServiceDestroyMixin, TenantViewSet):
    model = Invitation
    serializer_class = InvitationSerializer
    read_roles = services.ADMIN_ROLES
    destroy_service = (services.revoke_invitation, "invitation_id")

    order_by = ("-created_at",)

    @extend_schema(request=InvitationSerializer, responses={201: InvitationCreatedSerializer})
    def create(self, request: Request, tenant_slug: str) -> Response:
        v = self.validated(InvitationSerializer)
        invitation, token = self.run_service(
            services.create_invitation, role=v["role"], email=v.get("email", "")
        )
        invitation.invite_url = settings.PUBLIC_BASE_URL + reverse("accept-invitation", args=[token])  # type: ignore[attr-defined]
        return self.created(InvitationCreatedSerializer, invitation)


class WidgetViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ServiceDestroyMixin, TenantViewSet):
    model = Widget
    serializer_class = WidgetSerializer
    destroy_service = (services.delete_widget, "widget_id")

    order_by = ("created_at",)

    def _fields(self, request: Request, instance: Widget | None = None) -> dict[str, Any]:
        validated = self.validated(WidgetSerializer, instance, partial=instance is not None)
        merged = {} if instance is None else WidgetSerializer(instance).data
        merged.update(validated)
        return {k: merged[k] for k in ("name", "allowed_origins", "color", "greeting", "locale") if k in merged}

    @extend_schema(request=WidgetSerializer, responses={201: WidgetCreatedSerializer})
    def create(self, request: Request, tenant_slug: str) -> Response:
        widget, secret = self.run_service(services.create_widget, **self._fields(request))
        widget = self._save_hours(widget)
        widget.identity_secret = secret
        return self.created(WidgetCreatedSerializer, widget)

    @extend_schema(request=WidgetSerializer, responses=WidgetSerializer)
    def partial_update(self, request: Request, tenant_slug: str, pk: str) -> Response:
        widget: Widget = self.get_object()  # type: ignore[assignment]
        widget = self.run_service(services.update_widget, widget_id=widget.pk, **self._fields(request, widget))
        widget = self._save_hours(widget)
        return Response(WidgetSerializer(widget).data)

    def _save_hours(self, widget: Widget) -> Widget:
        """Business hours and away message, from the already validated request body."""
        validated = self.validated(WidgetSerializer, widget, partial=True)
        names = {"time_zone": "time_zone", "business_hours": "schedule", "holidays": "holidays",
                 "away_message": "away_message"}
        given = {arg: validated[field] for field, arg in names.items() if field in validated}
        return self.run_service(set_widget_hours, widget_id=widget.pk, **given) if given else widget

    @extend_schema(request=None, responses=SecretSerializer)
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request: Request, tenant_slug: str, pk: str) -> Response:
        widget = self.get_object()
        secret = self.run_service(services.rotate_widget_secret, widget_id=widget.pk)
        return Response({"identity_secret": secret})


class ApiKeyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ServiceDestroyMixin, TenantViewSet):
    model = ApiKey
    serializer_class = ApiKeySerializer
    read_roles = services.ADMIN_ROLES
    destroy_service = (services.revoke_api_key, "api_key_id")

    def scope_queryset(self, queryset: Any) -> Any:
        return queryset.filter(revoked_at__isnull=True).order_by("created_at")

    @extend_schema(request=ApiKeySerializer, responses={201: ApiKeyCreatedSerializer})
    def create(self, request: Request, tenant_slug: str) -> Response:
        v = self.validated(ApiKeySerializer)
        key, raw = self.run_service(services.create_api_key, name=v["name"])
        key.key = raw  # type: ignore[attr-defined]
        return self.created(ApiKeyCreatedSerializer, key)


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
        v = self.validated(PrivacySettingsSerializer)
        tenant = self.run_service(services.set_retention, days=v["retention_days"])
        return Response(PrivacySettingsSerializer(tenant).data)
