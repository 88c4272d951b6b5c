"""REST API for conversations, messages, labels and canned responses, under
/api/t/<tenant>/ (the same tenant rules as everything else: TenantViewSet). Thin: one
selector or service call per handler."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from chat import selectors, services
from chat.attachment_views import too_large, upload_payload
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
from tenants.api import ServiceCreateMixin, ServiceDestroyMixin, TenantViewSet, raise_api_error
from tenants.errors import ErrorCode, ServiceError
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
    OpenApiParameter("agent", int, description="assignee (membership id)"),
    OpenApiParameter("since", OpenApiTypes.DATE, description="created on or after"),
    OpenApiParameter("until", OpenApiTypes.DATE, description="created on or before"),
    OpenApiParameter("q", str, description="search in messages and the contact's name and e-mail"),
]


def conversation_action(
    name: str, service: Any, body: type[serializers.Serializer] | None = None, /, **fields: str
) -> Any:
    """A POST action on one conversation: validate the body with `body` (when there is one),
    call `service` on the conversation with each keyword argument taken from the named body
    field, answer the conversation as it is now."""

    def handler(self: ConversationViewSet, request: Request, tenant_slug: str, pk: str) -> Response:
        values = self.validated(body) if body is not None else {}
        return self._act(service, **{kwarg: values[field] for kwarg, field in fields.items()})

    handler.__name__ = handler.__qualname__ = name
    return extend_schema(request=body, responses=ConversationSerializer)(action(detail=True, methods=["post"])(handler))


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
            agent_id=f.get("agent"),
            since=f.get("since"),
            until=f.get("until"),
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
        v = self.validated(SendSerializer)
        posted = self.run_service(
            services.agent_send,
            conversation_id=conv.pk,
            body=v["body"],
            note=v["note"],
            client_msg_id=v.get("client_msg_id") or None,
        )
        names = selectors.author_names(tenant_id=self.tenant.pk, messages=[posted.message])
        return Response(
            MessageSerializer(posted.message, context={"author_names": names}).data,
            status=status.HTTP_200_OK if posted.duplicate else status.HTTP_201_CREATED,
        )

    @extend_schema(
        request={"multipart/form-data": inline_serializer("AttachmentUpload", {"file": serializers.FileField()})},
        responses={201: OpenApiTypes.OBJECT},
    )
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser])
    def attachments(self, request: Request, tenant_slug: str, pk: str) -> Response:
        """An image or PDF sent to the visitor as an agent reply (chat.services.attachments)."""
        conv = self.get_object()
        if too_large(request):
            raise_api_error(ServiceError(_("The file is too large."), code=ErrorCode.TOO_LONG))
        upload = request.FILES.get("file")
        if upload is None:
            raise_api_error(ServiceError(_("No file was sent."), code=ErrorCode.EMPTY))
        done = self.run_service(
            services.agent_upload, conversation_id=conv.pk, upload=upload, size=upload.size, name=upload.name or ""
        )
        return Response(upload_payload(done, for_agent=True), status=status.HTTP_201_CREATED)

    def _act(self, fn: Any, **kwargs: Any) -> Response:
        conv = self.get_object()
        self.run_service(fn, conversation_id=conv.pk, **kwargs)
        return self._one(conv)  # type: ignore[arg-type]

    takeover = conversation_action("takeover", services.take_over)
    assign = conversation_action("assign", services.assign, AssignSerializer, membership_id="assignee")
    resolve = conversation_action("resolve", services.resolve)
    reopen = conversation_action("reopen", services.reopen)
    pending = conversation_action("pending", services.set_status_pending)
    snooze = conversation_action("snooze", services.snooze, SnoozeSerializer, until="until")
    labels = conversation_action("labels", services.set_labels, LabelsSerializer, label_ids="labels")
    read = conversation_action("read", services.agent_read, ReadSerializer, seq="seq")


class LabelViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, ServiceCreateMixin, ServiceDestroyMixin, TenantViewSet
):
    model = Label
    serializer_class = LabelSerializer
    write_roles = AGENT_ROLES
    destroy_service = (services.delete_label, "label_id")
    create_service = staticmethod(services.create_label)

    order_by = ("name",)


class CannedResponseViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, ServiceCreateMixin, ServiceDestroyMixin, TenantViewSet
):
    model = CannedResponse
    serializer_class = CannedResponseSerializer
    write_roles = AGENT_ROLES
    destroy_service = (services.delete_canned_response, "canned_id")
    create_service = staticmethod(services.create_canned_response)

    order_by = ("shortcut",)


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
