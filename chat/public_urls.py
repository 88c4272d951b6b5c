# Public routes (widget script, demo host page), mounted at the site root.
urlpatterns: list = []
