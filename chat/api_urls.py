from rest_framework.routers import SimpleRouter

from chat import api_views

router = SimpleRouter()
router.register("conversations", api_views.ConversationViewSet, basename="conversation")
router.register("labels", api_views.LabelViewSet, basename="label")
router.register("canned-responses", api_views.CannedResponseViewSet, basename="canned-response")
router.register("contacts", api_views.ContactViewSet, basename="contact")

# API routes, mounted under /api/t/<tenant_slug>/ by config.urls.
urlpatterns = router.urls
