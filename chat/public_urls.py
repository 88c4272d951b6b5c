from django.urls import path

from chat import attachment_views, views

# Public routes (widget script, demo host page), mounted at the site root.
urlpatterns = [
    path("widget.js", views.widget_js, name="widget-js"),
    path("demo/widget/<str:public_key>/", views.demo_host, name="widget-demo"),
    path("demo/", views.demo_home, name="demo-home"),
    path("widget/<str:public_key>/attachments/", attachment_views.widget_upload, name="widget-attachment-upload"),
    path("attachments/<str:key>/", attachment_views.attachment_file, name="attachment-file"),
    path("attachments/<str:key>/thumbnail/", attachment_views.attachment_thumbnail, name="attachment-thumbnail"),
]
