import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# A web process: database connections from a bounded pool (settings, KEFU_DB_POOL).
os.environ.setdefault("KEFU_DB_POOL", "1")
django_asgi_app = get_asgi_application()

from config.db_pool import sweep_dead_connections_on_failed_check  # noqa: E402

sweep_dead_connections_on_failed_check()

from channels.auth import AuthMiddleware  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.sessions import CookieMiddleware, SessionMiddleware  # noqa: E402

from chat.routing import websocket_urlpatterns  # noqa: E402
from config.embedded_scheduler import with_embedded_scheduler  # noqa: E402

if os.environ.get("KEFU_WARM_UP") == "1":
    # Embedded default: this server process is also the inference pool; load the models
    # in the background so the server answers at once and the first visitor waits less.
    import threading

    def _warm_up() -> None:
        from ml.api import warm_up

        warm_up()

    threading.Thread(target=_warm_up, name="kefu-warm-up", daemon=True).start()

# Origin checks are per route: widget sockets check the widget's allowed origins,
# agent sockets check the portal's own host (see the consumer bases in tenants.consumers).
# The embedded server also runs the beat schedule (config/embedded_scheduler.py).
application = with_embedded_scheduler(
    ProtocolTypeRouter(
        {
            "http": django_asgi_app,
            "websocket": CookieMiddleware(SessionMiddleware(AuthMiddleware(URLRouter(websocket_urlpatterns)))),
        }
    )
)
