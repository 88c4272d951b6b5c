from django.urls import path

from chat import views

app_name = "chat"

# Portal pages, mounted under /t/<tenant_slug>/ by config.urls.
urlpatterns = [
    path("start/", views.StartView.as_view(), name="start"),
    path("inbox/", views.InboxView.as_view(), name="inbox"),
    path("inbox/canned/", views.CannedResponsesView.as_view(), name="canned"),
    path("contacts/<int:pk>/", views.ContactView.as_view(), name="contact"),
    path("contacts/<int:pk>/export.json", views.ContactExportView.as_view(), name="contact-export"),
]
