from django.urls import path  # noqa: F401

app_name = "ml"

# Portal pages, mounted under /t/<tenant_slug>/ by config.urls.
urlpatterns: list = []
