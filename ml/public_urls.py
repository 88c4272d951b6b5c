# Public routes of ml (the demo order API), mounted at the site root.
urlpatterns: list = []
