from django.urls import path

from tenants import views

app_name = "tenants"

# Mounted under /t/<tenant_slug>/ by config.urls.
urlpatterns = [
    path("members/", views.MembersView.as_view(), name="members"),
    path("settings/", views.SettingsView.as_view(), name="settings"),
]
