from django.urls import path

from ml import public_views

app_name = "ml-public"

# Public routes of ml, mounted at the site root by config.urls.
urlpatterns = [
    path("help/<slug:help_slug>/articles/<int:article_id>/", public_views.public_article, name="article"),
    path("demo-api/orders/<str:order_number>", public_views.demo_order, name="demo-order"),
]
