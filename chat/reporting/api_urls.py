from django.urls import path

from chat.reporting.api import DashboardViewSet, DrilldownViewSet

# API routes, mounted under /api/t/<tenant_slug>/ by config.urls.
urlpatterns = [
    path("reporting/dashboard/", DashboardViewSet.as_view({"get": "list"}), name="reporting-dashboard"),
    path("reporting/conversations/", DrilldownViewSet.as_view({"get": "list"}), name="reporting-conversations"),
]
