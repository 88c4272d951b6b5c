from django.urls import path

from chat.reporting import views

app_name = "reporting"

# Portal pages, mounted under /t/<tenant_slug>/ by config.urls.
urlpatterns = [
    path("dashboards/", views.DashboardView.as_view(), name="dashboard"),
    path("dashboards/conversations/", views.DrilldownView.as_view(), name="conversations"),
    path("dashboards/export.csv", views.ExportView.as_view(), name="export"),
]
