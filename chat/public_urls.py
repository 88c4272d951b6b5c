from django.urls import path

from chat import views

# Public routes (widget script, demo host page), mounted at the site root.
urlpatterns = [
    path("widget.js", views.widget_js, name="widget-js"),
    path("demo/widget/<str:public_key>/", views.demo_host, name="widget-demo"),
    path("demo/", views.demo_home, name="demo-home"),
]
