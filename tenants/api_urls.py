from django.urls import path
from rest_framework.routers import SimpleRouter

from tenants import api_views

router = SimpleRouter()
router.register("members", api_views.MemberViewSet, basename="member")
router.register("invitations", api_views.InvitationViewSet, basename="invitation")
router.register("widgets", api_views.WidgetViewSet, basename="widget")
router.register("api-keys", api_views.ApiKeyViewSet, basename="api-key")

# Mounted under /api/t/<tenant_slug>/ by config.urls.
urlpatterns = [
    path(
        "privacy/",
        api_views.PrivacySettingsViewSet.as_view({"get": "retrieve", "patch": "partial_update"}),
        name="privacy-settings",
    ),
    *router.urls,
]
