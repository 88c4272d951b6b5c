from django.urls import path

from ml import views

app_name = "ml"

# Portal pages, mounted under /t/<tenant_slug>/ by config.urls.
urlpatterns = [
    path("knowledge/", views.KnowledgeView.as_view(), name="knowledge"),
    path("knowledge/<int:pk>/", views.ArticleView.as_view(), name="article"),
    path("ai/", views.AIView.as_view(), name="ai"),
]
