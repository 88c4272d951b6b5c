from django.urls import path
from rest_framework.routers import SimpleRouter

from ml import api_views

router = SimpleRouter()
router.register("articles", api_views.ArticleViewSet, basename="article")
router.register("knowledge-imports", api_views.KnowledgeImportViewSet, basename="knowledge-import")
router.register("intents", api_views.IntentViewSet, basename="intent")
router.register("actions", api_views.ActionViewSet, basename="action")
router.register("model-versions", api_views.ModelVersionViewSet, basename="model-version")
router.register("training-runs", api_views.TrainingRunViewSet, basename="training-run")
router.register("message-feedback", api_views.MessageFeedbackViewSet, basename="message-feedback")

# Mounted under /api/t/<tenant_slug>/ by config.urls.
urlpatterns = [
    path(
        "ai-policy/",
        api_views.PolicyViewSet.as_view({"get": "retrieve", "put": "update", "patch": "partial_update"}),
        name="ai-policy",
    ),
    *router.urls,
]
