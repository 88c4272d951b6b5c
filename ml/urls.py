from django.urls import path

from ml import views

app_name = "ml"

# Portal pages, mounted under /t/<tenant_slug>/ by config.urls.
urlpatterns = [
    path("knowledge/", views.KnowledgeView.as_view(), name="knowledge"),
    path("knowledge/<int:pk>/", views.ArticleView.as_view(), name="article"),
    path("ai/", views.AIView.as_view(), name="ai"),
    path("ai/learning/", views.LearningView.as_view(), name="learning"),
    path("ai/learning/progress.json", views.LearningProgressView.as_view(), name="learning-progress"),
    path("ai/learning/versions/<int:pk>/", views.ModelVersionView.as_view(), name="model-version"),
    path("ai/feedback/", views.FeedbackView.as_view(), name="feedback"),
    path("knowledge/gaps/", views.GapsView.as_view(), name="gaps"),
]
