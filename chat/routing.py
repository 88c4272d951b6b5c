from django.urls import path

from chat import consumers

# WebSocket routes (config.asgi mounts them).
websocket_urlpatterns: list = [
    path("ws/widget/<str:public_key>/", consumers.WidgetConsumer.as_asgi()),
    path("ws/t/<slug:tenant_slug>/inbox/", consumers.InboxConsumer.as_asgi()),
]
