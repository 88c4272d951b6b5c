from django.urls import path  # noqa: F401

app_name = "reporting"

# Portal pages, mounted under /t/<tenant_slug>/ by config.urls.
urlpatterns: list = []
