from django.urls import path

from mail import views

app_name = "mail"

# Portal pages, mounted under /t/<tenant_slug>/ by config.urls.
urlpatterns = [
    path("outbox/", views.OutboxView.as_view(), name="outbox"),
    path("notifications/", views.NotificationsView.as_view(), name="notifications"),
]
