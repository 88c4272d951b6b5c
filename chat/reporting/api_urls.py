# API routes, mounted under /api/t/<tenant_slug>/ by config.urls.
urlpatterns: list = []
