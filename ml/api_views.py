"""The ml API: articles, imports, intents, AI policy, actions, model versions.
Thin: one service or selector call per handler; objects fetched through the tenant base."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from ml import selectors, services, training
from ml.models import (
    Action,
    AIPolicy,
    AnalyzedMessage,
    Intent,
    IntentExample,
    KnowledgeArticle,
    KnowledgeImport,
    ModelVersion,
    TrainingRun,
)
from ml.serializers import (
    ActionSerializer,
    AgentFeedbackSerializer,
    ArticleSerializer,
    ExamplesSerializer,
    ImportCreateSerializer,
    ImportSerializer,
    IntentSerializer,
    ModelVersionSerializer,
    PolicySerializer,
    TrainingRunSerializer,
)
from tenants.api import ServiceCreateMixin, ServiceDestroyMixin, TenantViewSet


class ArticleViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, ServiceCreateMixin, ServiceDestroyMixin, TenantViewSet
):
    model = KnowledgeArticle
    serializer_class = ArticleSerializer
    destroy_service = (services.delete_article, "article_id")
    create_service = staticmethod(services.create_article)

    def scope_queryset(self, queryset: Any) -> Any:
        return queryset.filter(deleted_at__isnull=True).order_by("-updated_at")

    def _update(self, request: Request, partial: bool) -> Response:
        article: KnowledgeArticle = self.get_object()  # type: ignore[assignment]
        v = {**ArticleSerializer(article).data, **self.validated(ArticleSerializer, article, partial=partial)}
        article = self.run_service(
            services.update_article,
            article_id=article.pk,
            title=v["title"],
            body=v["body"],
            tags=v["tags"],
            status=v["status"],
            language=v["language"],
        )
        return Response(ArticleSerializer(article).data)

    @extend_schema(request=ArticleSerializer, responses=ArticleSerializer)
    def update(self, request: Request, tenant_slug: str, pk: str) -> Response:
        return self._update(request, partial=False)

    @extend_schema(request=ArticleSerializer, responses=ArticleSerializer)
    def partial_update(self, request: Request, tenant_slug: str, pk: str) -> Response:
        return self._update(request, partial=True)


class KnowledgeImportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    model = KnowledgeImport
    serializer_class = ImportSerializer
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    def scope_queryset(self, queryset: Any) -> Any:
        return queryset.defer("items").order_by("-created_at")

    @extend_schema(request={"multipart/form-data": ImportCreateSerializer}, responses={201: ImportSerializer})
    def create(self, request: Request, tenant_slug: str) -> Response:
        data = ImportCreateSerializer(
            data={
                "kind": request.data.get("kind"),
                "file": request.FILES.getlist("file"),
                "publish": request.data.get("publish", True),
            }
        )
        data.is_valid(raise_exception=True)
        files = [(f.name, f.read()) for f in data.validated_data["file"]]
        job = self.run_service(
            services.start_import, kind=data.validated_data["kind"], files=files, publish=data.validated_data["publish"]
        )
        return self.created(ImportSerializer, job)


class IntentViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, ServiceCreateMixin, ServiceDestroyMixin, TenantViewSet
):
    model = Intent
    serializer_class = IntentSerializer
    destroy_service = (services.delete_intent, "intent_id")
    create_service = staticmethod(services.create_intent)

    def scope_queryset(self, queryset: Any) -> Any:
        examples = IntentExample.objects.for_tenant(self.tenant).order_by("pk")
        return queryset.prefetch_related(Prefetch("examples", queryset=examples)).order_by("name")

    @extend_schema(request=IntentSerializer, responses=IntentSerializer)
    def partial_update(self, request: Request, tenant_slug: str, pk: str) -> Response:
        intent: Intent = self.get_object()  # type: ignore[assignment]
        v = self.validated(IntentSerializer, intent, partial=True)
        intent = self.run_service(
            services.update_intent,
            intent_id=intent.pk,
            name=v.get("name", intent.name),
            description=v.get("description", intent.description),
            escalates=v.get("escalates", intent.escalates),
        )
        if v.get("examples"):
            services.add_examples(actor=self.actor(), intent_id=intent.pk, texts=v["examples"])
        return Response(IntentSerializer(intent).data)

    @extend_schema(request=ExamplesSerializer, responses=IntentSerializer)
    @action(detail=True, methods=["post"], url_path="examples")
    def examples(self, request: Request, tenant_slug: str, pk: str) -> Response:
        intent: Intent = self.get_object()  # type: ignore[assignment]
        v = self.validated(ExamplesSerializer)
        self.run_service(services.add_examples, intent_id=intent.pk, texts=v["texts"])
        return Response(IntentSerializer(intent).data)


class PolicyViewSet(TenantViewSet):
    """The tenant's AI policy (one per tenant): GET and PATCH/PUT on /ai-policy/."""

    model = AIPolicy
    serializer_class = PolicySerializer
    # The tenant's one policy: what get_object() (and OPTIONS' metadata) looks up by.
    lookup_field = "tenant__slug"
    lookup_url_kwarg = "tenant_slug"

    @extend_schema(responses=PolicySerializer)
    def retrieve(self, request: Request, tenant_slug: str) -> Response:
        return Response(PolicySerializer(selectors.policy_get(tenant=self.tenant)).data)

    @extend_schema(request=PolicySerializer, responses=PolicySerializer)
    def partial_update(self, request: Request, tenant_slug: str) -> Response:
        policy = self.run_service(services.update_policy, **self.validated(PolicySerializer, partial=True))
        return Response(PolicySerializer(policy).data)

    @extend_schema(request=PolicySerializer, responses=PolicySerializer)
    def update(self, request: Request, tenant_slug: str) -> Response:
        return self.partial_update(request, tenant_slug)


class ActionViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, ServiceCreateMixin, ServiceDestroyMixin, TenantViewSet
):
    model = Action
    serializer_class = ActionSerializer
    destroy_service = (services.delete_action, "action_id")
    create_service = staticmethod(services.create_action)

    order_by = ("name",)

    @extend_schema(request=ActionSerializer, responses=ActionSerializer)
    def partial_update(self, request: Request, tenant_slug: str, pk: str) -> Response:
        obj: Action = self.get_object()  # type: ignore[assignment]
        v = self.validated(ActionSerializer, obj, partial=True)
        obj = self.run_service(services.update_action, action_id=obj.pk, **v)
        return Response(ActionSerializer(obj).data)


class ModelVersionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    model = ModelVersion
    serializer_class = ModelVersionSerializer

    order_by = ("-version",)

    @extend_schema(request=None, responses=ModelVersionSerializer)
    @action(detail=True, methods=["post"], url_path="serve")
    def serve(self, request: Request, tenant_slug: str, pk: str) -> Response:
        """Serve this version from now on (rollback or manual promotion)."""
        version: ModelVersion = self.get_object()  # type: ignore[assignment]
        version = self.run_service(training.serve_version, version_id=version.pk)
        return Response(ModelVersionSerializer(version).data)


class TrainingRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """Retraining runs: POST starts one ("Retrain now"); GET polls progress; cancel."""

    model = TrainingRun
    serializer_class = TrainingRunSerializer

    order_by = ("-created_at",)

    @extend_schema(request=None, responses={201: TrainingRunSerializer})
    def create(self, request: Request, tenant_slug: str) -> Response:
        run = self.run_service(training.request_retrain)
        return self.created(TrainingRunSerializer, run)

    @extend_schema(request=None, responses=TrainingRunSerializer)
    @action(detail=True, methods=["post"], url_path="cancel")
    def cancel(self, request: Request, tenant_slug: str, pk: str) -> Response:
        run: TrainingRun = self.get_object()  # type: ignore[assignment]
        run = self.run_service(training.cancel_run, run_id=run.pk)
        return Response(TrainingRunSerializer(run).data)


class MessageFeedbackViewSet(TenantViewSet):
    """An agent relabels a visitor message's intent, marks the bot's answer wrong or
    corrects it (POST, keyed by chat's message id). Agents may write here."""

    model = AnalyzedMessage
    write_roles = frozenset({"owner", "admin", "agent"})
    serializer_class = AgentFeedbackSerializer

    @extend_schema(request=AgentFeedbackSerializer, responses={201: AgentFeedbackSerializer})
    def create(self, request: Request, tenant_slug: str) -> Response:
        v = self.validated(AgentFeedbackSerializer)
        self.run_service(
            services.agent_feedback,
            message_id=v["message_id"],
            kind=v["kind"],
            label=v["label"],
            correction=v["correction"],
        )
        return Response(v, status=status.HTTP_201_CREATED)
