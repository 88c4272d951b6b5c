"""REST API for conversations, messages, labels and canned responses, under
/api/t/<tenant>/ (the same tenant rules as everything else: TenantViewSet). Thin: one
selector or service call per handler."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from chat import selectors, services
from chat.models import CannedResponse, Contact, Conversation, Label
from chat.serializers import (
    AssignSerializer,
    CannedResponseSerializer,
    ContactSerializer,
    ConversationFilterSerializer,
    ConversationSerializer,
    LabelSerializer,
    LabelsSerializer,
    MessageSerializer,
    ReadSerializer,
    SendSerializer,
    SnoozeSerializer,
)
from tenants.api import TenantViewSet
from tenants.models import ADMIN_ROLES
from tenants.pagination import MAX_PAGE_SIZE, bounded_int

AGENT_ROLES = frozenset({"owner", "admin", "agent"})
MAX_SEQ = 2**31 - 1  # Message.seq is an IntegerField


FILTER_PARAMS = [
    OpenApiParameter("view", str, enum=["all", "unassigned", "mine"]),
    OpenApiParameter("status", str, enum=["open", "pending", "snoozed", "resolved"]),
    OpenApiParameter("handled_by", str, enum=["bot", "human"]),
    OpenApiParameter("label", int),
    OpenApiParameter("contact", int),
    OpenApiParameter("q", str),
]


class ConversationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    model = Conversation
    serializer_class = ConversationSerializer
    write_roles = AGENT_ROLES

    def scope_queryset(self, queryset: Any) -> Any:
        if self.action != "list":
            return queryset.select_related("contact")
        params = ConversationFilterSerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        f = params.validated_data
        membership = self.caller.membership
        return selectors.inbox_conversations(
            tenant_id=self.tenant.pk,
            membership_id=membership.pk if membership else None,
            view=f.get("view", "all"),
            status=f.get("status"),
            handled_by=f.get("handled_by"),
            label_id=f.get("label"),
            contact_id=f.get("contact"),
            q=f.get("q", ""),
        )

    def _context_for(self, conversations: list[Conversation]) -> dict[str, Any]:
        ids = [c.pk for c in conversations]
        context = self.get_serializer_context()
        context["labels"] = selectors.conversation_labels(tenant_id=self.tenant.pk, conversation_ids=ids)
        context["csat"] = (
            {c.pk: selectors.conversation_csat(tenant_id=self.tenant.pk, conversation_id=c.pk) for c in conversations}
            if len(ids) == 1
            else {}
        )
        return context

    def _one(self, conv: Conversation) -> Response:
        conv = selectors.conversation_get(tenant_id=self.tenant.pk, conversation_id=conv.pk) or conv
        return Response(ConversationSerializer(conv, context=self._context_for([conv])).data)

    @extend_schema(parameters=FILTER_PARAMS)
    def list(self, request: Request, tenant_slug: str) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        items = list(page or [])
        data = ConversationSerializer(items, many=True, context=self._context_for(items)).data
        return self.get_paginated_response(data)

    def retrieve(self, request: Request, tenant_slug: str, pk: str) -> Response:
        return self._one(self.get_object())  # type: ignore[arg-type]

    @extend_schema(
        methods=["GET"],
        parameters=[OpenApiParameter("after_seq", int), OpenApiParameter("limit", int)],
        responses=MessageSerializer(many=True),
    )
    @extend_schema(methods=["POST"], request=SendSerializer, responses={201: MessageSerializer})
    @action(detail=True, methods=["get", "post"])
    def messages(self, request: Request, tenant_slug: str, pk: str) -> Response:
        conv = self.get_object()
        if request.method == "GET":
            params = request.query_params
            after = bounded_int(params, "after_seq", default=0, minimum=0, maximum=MAX_SEQ)
            limit = bounded_int(params, "limit", default=500, minimum=1, maximum=MAX_PAGE_SIZE)
            msgs = selectors.messages_after(
                tenant_id=self.tenant.pk, conversation_id=conv.pk, after_seq=after, for_agent=True, limit=limit
            )
            names = selectors.author_names(tenant_id=self.tenant.pk, messages=msgs)
            return Response(MessageSerializer(msgs, many=True, context={"author_names": names}).data)
        data = SendSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        posted = self.run_service(
            services.agent_send,
            conversation_id=conv.pk,
            body=data.validated_data["body"],
            note=data.validated_data["note"],
            client_msg_id=data.validated_data.get("client_msg_id") or None,
        )
        names = selectors.author_names(tenant_id=self.tenant.pk, messages=[posted.message])
        return Response(
            MessageSerializer(posted.message, context={"author_names": names}).data,
            status=status.HTTP_200_OK if posted.duplicate else status.HTTP_201_CREATED,
        )

    def _act(self, fn: Any, **kwargs: Any) -> Response:
        conv = self.get_object()
        self.run_service(fn, conversation_id=conv.pk, **kwargs)
        return self._one(conv)  # type: ignore[arg-type]

    @extend_schema(request=None, responses=ConversationSerializer)
    @action(detail=True, methods=["post"])
    def takeover(self, request: Request, tenant_slug: str, pk: str) -> Response:
        return self._act(services.take_over)

    @extend_schema(request=AssignSerializer, responses=ConversationSerializer)
    @action(detail=True, methods=["post"])
    def assign(self, request: Request, tenant_slug: str, pk: str) -> Response:
        data = AssignSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._act(services.assign, membership_id=data.validated_data["assignee"])

    @extend_schema(request=None, responses=ConversationSerializer)
    @action(detail=True, methods=["post"])
    def resolve(self, request: Request, tenant_slug: str, pk: str) -> Response:
        return self._act(services.resolve)

    @extend_schema(request=None, responses=ConversationSerializer)
    @action(detail=True, methods=["post"])
    def reopen(self, request: Request, tenant_slug: str, pk: str) -> Response:
        return self._act(services.reopen)

    @extend_schema(request=None, responses=ConversationSerializer)
    @action(detail=True, methods=["post"])
    def pending(self, request: Request, tenant_slug: str, pk: str) -> Response:
        return self._act(services.set_status_pending)

    @extend_schema(request=SnoozeSerializer, responses=ConversationSerializer)
    @action(detail=True, methods=["post"])
    def snooze(self, request: Request, tenant_slug: str, pk: str) -> Response:
        data = SnoozeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._act(services.snooze, until=data.validated_data["until"])

    @extend_schema(request=LabelsSerializer, responses=ConversationSerializer)
    @action(detail=True, methods=["post"])
    def labels(self, request: Request, tenant_slug: str, pk: str) -> Response:
        data = LabelsSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._act(services.set_labels, label_ids=data.validated_data["labels"])

    @extend_schema(request=ReadSerializer, responses=ConversationSerializer)
    @action(detail=True, methods=["post"])
    def read(self, request: Request, tenant_slug: str, pk: str) -> Response:
        data = ReadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._act(services.agent_read, seq=data.validated_data["seq"])


class LabelViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    model = Label
    serializer_class = LabelSerializer
    write_roles = AGENT_ROLES

    def scope_queryset(self, queryset: Any) -> Any:
        return queryset.order_by("name")

    @extend_schema(request=LabelSerializer, responses={201: LabelSerializer})
    def create(self, request: Request, tenant_slug: str) -> Response:
        data = LabelSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        label = self.run_service(
            services.create_label, name=data.validated_data["name"], color=data.validated_data.get("color", "#64748b")
        )
        return Response(LabelSerializer(label).data, status=status.HTTP_201_CREATED)

    def destroy(self, request: Request, tenant_slug: str, pk: str) -> Response:
        label = self.get_object()
        self.run_service(services.delete_label, label_id=label.pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CannedResponseViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    model = CannedResponse
    serializer_class = CannedResponseSerializer
    write_roles = AGENT_ROLES

    def scope_queryset(self, queryset: Any) -> Any:
        return queryset.order_by("shortcut")

    @extend_schema(request=CannedResponseSerializer, responses={201: CannedResponseSerializer})
    def create(self, request: Request, tenant_slug: str) -> Response:
        data = CannedResponseSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        canned = self.run_service(
            services.create_canned_response, shortcut=data.validated_data["shortcut"], text=data.validated_data["text"]
        )
        return Response(CannedResponseSerializer(canned).data, status=status.HTTP_201_CREATED)

    def destroy(self, request: Request, tenant_slug: str, pk: str) -> Response:
        canned = self.get_object()
        self.run_service(services.delete_canned_response, canned_id=canned.pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ContactViewSet(mixins.RetrieveModelMixin, TenantViewSet):
    """A visitor's data for privacy requests (owners and admins): GET the contact,
    GET export/ (JSON of their conversations only), DELETE (their messages and learning
    data are deleted; pseudonymous ids stay for reporting)."""

    model = Contact
    serializer_class = ContactSerializer
    read_roles = ADMIN_ROLES

    @extend_schema(
        request=None,
        responses=inline_serializer(
            "ContactForgotten",
            {"conversations": serializers.IntegerField(), "messages": serializers.IntegerField(),
             "learning_rows": serializers.IntegerField()},
        ),
    )
    def destroy(self, request: Request, tenant_slug: str, pk: str) -> Response:
        contact = self.get_object()
        return Response(self.run_service(services.forget_contact, contact_id=contact.pk))

    @extend_schema(responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["get"])
    def export(self, request: Request, tenant_slug: str, pk: str) -> Response:
        contact = self.get_object()
        response = Response(selectors.contact_export(tenant_id=self.tenant.pk, contact_id=contact.pk))
        response["Content-Disposition"] = f'attachment; filename="visitor-{contact.pk}.json"'
        return response
