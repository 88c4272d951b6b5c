"""Kefu settings, read from the environment.

Two modes (DESIGN.md, "Processes"):
- embedded default: no DATABASE_URL / REDIS_URL -> SQLite, in-memory channel layer,
  inference in a thread pool inside the server process;
- production: DATABASE_URL (PostgreSQL) and REDIS_URL -> Redis channel layer and
  Celery broker, inference on Celery workers.
Bad values fail loudly at start-up rather than at the first request.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None:
        raise ImproperlyConfigured(f"environment variable {name} is required")
    return value


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use 1/0, true/false)")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer") from None


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("KEFU_DEBUG", False)
# Embedded (the demo: SQLite, in-memory channel layer, in-process tasks and scheduler) unless
# DATABASE_URL or REDIS_URL is set. Then this is a deployment, which refuses to start on the
# demo's hard-coded secret key or without its host names (KEFU_DEBUG=1 lifts that for a
# developer's machine; the test suite sets both, see tests/pytest_env.py).
EMBEDDED = not (os.environ.get("DATABASE_URL") or os.environ.get("REDIS_URL"))
SECRET_KEY = os.environ.get("KEFU_SECRET_KEY", "")
ALLOWED_HOSTS = env_list("KEFU_ALLOWED_HOSTS")
if not EMBEDDED and not DEBUG:
    _missing = [name for name, value in (("KEFU_SECRET_KEY", SECRET_KEY), ("KEFU_ALLOWED_HOSTS", ALLOWED_HOSTS)) if not value]
    if _missing:
        raise ImproperlyConfigured(
            f"{' and '.join(_missing)} must be set when DATABASE_URL or REDIS_URL is (see platform/env.example)"
        )
SECRET_KEY = SECRET_KEY or "kefu-embedded-insecure-key-change-me"  # noqa: S105 - embedded demo / debug only
ALLOWED_HOSTS = ALLOWED_HOSTS or ["127.0.0.1", "localhost", "testserver"]

# HTTPS. Cookies are Secure by default in a deployment; HSTS, the HTTP->HTTPS redirect and the
# proxy header are opt-in because they depend on the TLS set-up in front of the server
# (`make test` runs `check --deploy` with all of them on).
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("KEFU_SECURE_COOKIES", not EMBEDDED and not DEBUG)
SECURE_SSL_REDIRECT = env_bool("KEFU_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = env_int("KEFU_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("KEFU_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("KEFU_HSTS_PRELOAD", False)
# The header a TLS-terminating proxy sets to "https" (e.g. HTTP_X_FORWARDED_PROTO). Only
# behind a proxy that always overwrites it: otherwise clients could claim HTTPS.
_PROXY_SSL_HEADER = os.environ.get("KEFU_PROXY_SSL_HEADER", "")
if _PROXY_SSL_HEADER and not _PROXY_SSL_HEADER.startswith("HTTP_"):
    raise ImproperlyConfigured(f"KEFU_PROXY_SSL_HEADER must look like HTTP_X_FORWARDED_PROTO, got {_PROXY_SSL_HEADER!r}")
SECURE_PROXY_SSL_HEADER = (_PROXY_SSL_HEADER, "https") if _PROXY_SSL_HEADER else None
CSRF_TRUSTED_ORIGINS = env_list("KEFU_CSRF_TRUSTED_ORIGINS", "http://127.0.0.1:8000,http://localhost:8000")
# The public base URL, used in the widget snippet and citation links.
PUBLIC_BASE_URL = env_str("KEFU_PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "channels",
    "tenants",
    "ml",
    "chat",
    "chat.reporting",
    "mail",
    "drf_spectacular_sidecar",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "tenants.middleware.PrivateNoStoreMiddleware",  # outside SessionMiddleware: sees its Vary: Cookie
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "tenants.context_processors.portal",
            ],
        },
    },
]

# --- database -------------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    if not DATABASE_URL.startswith(("postgres://", "postgresql://", "sqlite:")):
        raise ImproperlyConfigured(f"DATABASE_URL must be postgresql:// or sqlite:, got {DATABASE_URL!r}")
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("KEFU_DB_CONN_MAX_AGE", 60), conn_health_checks=True)}
else:
    SQLITE_PATH = Path(os.environ.get("KEFU_SQLITE_PATH", "") or BASE_DIR / "var" / "kefu.sqlite3")
    SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(SQLITE_PATH),
            # Several threads (server + inference pool) write: wait rather than fail.
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- channels, celery -----------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
# Redis pub/sub channels are server-wide, not per database: they are named after the database
# so deployments (or test runs) sharing one Redis server never hear each other's events.
KEFU_CHANNEL_PREFIX = env_str("KEFU_CHANNEL_PREFIX", "kefu" + REDIS_URL.rsplit("/", 1)[-1] if REDIS_URL else "kefu")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            # Pub/sub layer: ~2.5x the group fan-out of RedisChannelLayer measured here.
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {
                "hosts": [{"address": REDIS_URL, "max_connections": env_int("KEFU_REDIS_MAX_CONNECTIONS", 1000)}],
                "prefix": KEFU_CHANNEL_PREFIX,
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# "celery": tasks go to Celery workers; "inprocess": same task code in a thread pool
# inside the server process (embedded default).
KEFU_TASK_MODE = env_str("KEFU_TASK_MODE", "celery" if REDIS_URL else "inprocess")
if KEFU_TASK_MODE not in {"celery", "inprocess"}:
    raise ImproperlyConfigured(f"KEFU_TASK_MODE must be celery or inprocess, got {KEFU_TASK_MODE!r}")
KEFU_INPROCESS_WORKERS = env_int("KEFU_INPROCESS_WORKERS", 2)
# Threads a server process uses for chat's database calls. Threads x server processes
# must stay under PostgreSQL's max_connections (100 by default).
KEFU_CHAT_DB_THREADS = env_int("KEFU_CHAT_DB_THREADS", 16)

# Under ASGI each HTTP request runs its sync code in a thread of its own, so persistent
# connections (CONN_MAX_AGE) stay open after their thread is gone: 75 parallel API calls
# left 76 idle connections, a longer burst hit "too many clients" (issue 9 #1). Web
# processes (config/asgi.py turns KEFU_DB_POOL on) therefore borrow connections from a
# psycopg pool: at most KEFU_DB_POOL_MAX_SIZE per process, callers beyond it wait up to
# KEFU_DB_POOL_TIMEOUT_S. Workers, beat and commands (one thread each) keep one persistent
# connection. Budget: web processes x pool size + worker processes < max_connections
# (platform/SCALING.md).
KEFU_DB_POOL = env_bool("KEFU_DB_POOL", False) and DATABASES["default"]["ENGINE"].endswith("postgresql")
KEFU_DB_POOL_MAX_SIZE = env_int("KEFU_DB_POOL_MAX_SIZE", KEFU_CHAT_DB_THREADS + 8)
if KEFU_DB_POOL:
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # required by the pool: "closing" returns it
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": min(2, KEFU_DB_POOL_MAX_SIZE),
        "max_size": KEFU_DB_POOL_MAX_SIZE,
        "timeout": env_int("KEFU_DB_POOL_TIMEOUT_S", 10),
        "max_idle": 60,  # connections above min_size close after a minute idle
    }

CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL or "memory://")
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", REDIS_URL or "cache+memory://")
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
# A broker that is down fails a send fast: the outbox (chat.RespondJob) retries it with backoff.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# --- ML -------------------------------------------------------------------------------
# The function chat asks for a bot decision (plain dicts in and out). Plumbing tests point
# worker processes at a deterministic fake here.
KEFU_CHAT_ANALYZER = env_str("KEFU_CHAT_ANALYZER", "ml.api.analyze_and_reply")
KEFU_GENERATOR = env_str("KEFU_GENERATOR", "local")  # local | openai | fake
if KEFU_GENERATOR not in {"local", "openai", "fake"}:
    raise ImproperlyConfigured(f"KEFU_GENERATOR must be local, openai or fake, got {KEFU_GENERATOR!r}")
KEFU_GENERATOR_URL = os.environ.get("KEFU_GENERATOR_URL", "")
KEFU_GENERATOR_MODEL = os.environ.get("KEFU_GENERATOR_MODEL", "")
KEFU_GENERATOR_TIMEOUT_S = env_int("KEFU_GENERATOR_TIMEOUT_S", 60)
# Wall-clock cap of one LLM call inside a bot turn (client side, ml.backends.generation):
# past it the stream is closed and the extractive answer is used. Well below the analyzer's
# KEFU_GENERATOR_TIMEOUT_S, so a slow LLM never turns into a silent minute and a handoff.
KEFU_GENERATOR_DEADLINE_S = float(os.environ.get("KEFU_GENERATOR_DEADLINE_S", "") or 8)
if not 0 < KEFU_GENERATOR_DEADLINE_S < KEFU_GENERATOR_TIMEOUT_S:
    raise ImproperlyConfigured("KEFU_GENERATOR_DEADLINE_S must be > 0 and below KEFU_GENERATOR_TIMEOUT_S")

# --- task delivery (issue 9 #2 #6 #7 #16; platform/SCALING.md "Task delivery") ----------
# chat.tasks.respond's hard time limit: the analyzer's wall-clock cap plus storing the reply.
KEFU_RESPOND_TIME_LIMIT_S = env_int("KEFU_RESPOND_TIME_LIMIT_S", KEFU_GENERATOR_TIMEOUT_S + 20)
# A task held by a worker that died goes back to its queue this long after delivery (Redis
# transport): just above respond's hard limit so a live worker is never raced. It was 3600 s,
# an hour of silence for the visitor. Longer tasks (retraining, imports) are idempotent on
# redelivery.
KEFU_BROKER_VISIBILITY_TIMEOUT = env_int("KEFU_BROKER_VISIBILITY_TIMEOUT", KEFU_RESPOND_TIME_LIMIT_S + 10)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": KEFU_BROKER_VISIBILITY_TIMEOUT,
    # kombu looks for such tasks every interval x throttle seconds: 10 x 10 by default, which
    # alone made a reply minutes late; now every 5 s.
    "unacked_restore_interval": 5,
    "unacked_restore_throttle": 1,
    "socket_connect_timeout": 3,
}
# The respond outbox is swept to the broker every KEFU_OUTBOX_SWEEP_S (beat), besides the
# kick after each commit; at most KEFU_RESPOND_PER_TENANT jobs of one tenant are on the
# broker at once, so one tenant's burst queues in the database, not in front of the others.
KEFU_OUTBOX_SWEEP_S = env_int("KEFU_OUTBOX_SWEEP_S", 5)
KEFU_RESPOND_PER_TENANT = env_int("KEFU_RESPOND_PER_TENANT", 2)
# No bot reply yet: the visitor is told "still working on it" after KEFU_BOT_NOTICE_AFTER_S,
# and handed to a person (reason bot_timeout) after KEFU_BOT_REPLY_DEADLINE_S, which leaves
# room for one redelivery after a crashed worker.
KEFU_BOT_NOTICE_AFTER_S = env_int("KEFU_BOT_NOTICE_AFTER_S", 8)
KEFU_BOT_REPLY_DEADLINE_S = env_int("KEFU_BOT_REPLY_DEADLINE_S", KEFU_BROKER_VISIBILITY_TIMEOUT + 60)
KEFU_MODEL_DIR = Path(os.environ.get("KEFU_MODEL_DIR", str(BASE_DIR / "var" / "models")))
# Hosts that actions may call although they are private/loopback (the demo's order API).
KEFU_ACTION_ALLOWED_HOSTS = env_list("KEFU_ACTION_ALLOWED_HOSTS", "")

# A bot-handled conversation with no handoff and no new visitor message for this long is
# resolved by the bot (it then counts towards the AI resolution rate, DESIGN.md metrics).
KEFU_BOT_AUTO_RESOLVE_AFTER_S = env_int("KEFU_BOT_AUTO_RESOLVE_AFTER_S", 24 * 3600)
# A training run whose heartbeat is older than this is treated as dead (worker killed).
KEFU_TRAINING_STALE_S = env_int("KEFU_TRAINING_STALE_S", 90)
KEFU_TRAINING_QUEUED_STALE_S = env_int("KEFU_TRAINING_QUEUED_STALE_S", 6 * 3600)

# --- the beat schedule (config/schedule.py) ----------------------------------------------
# Periods of chat housekeeping (wake snoozed, bot auto-resolve) and dashboard roll-ups.
KEFU_HOUSEKEEPING_S = env_int("KEFU_HOUSEKEEPING_S", 60)
KEFU_ROLLUP_REFRESH_S = env_int("KEFU_ROLLUP_REFRESH_S", 300)
# The embedded server runs the schedule itself in a thread (config/embedded_scheduler.py);
# a deployment runs Celery beat instead.
KEFU_EMBEDDED_SCHEDULER = env_bool("KEFU_EMBEDDED_SCHEDULER", True)

# --- limits ---------------------------------------------------------------------------
KEFU_MAX_MESSAGE_CHARS = env_int("KEFU_MAX_MESSAGE_CHARS", 4000)
KEFU_VISITOR_MESSAGES_PER_MINUTE = env_int("KEFU_VISITOR_MESSAGES_PER_MINUTE", 30)
KEFU_WIDGET_MESSAGES_PER_MINUTE = env_int("KEFU_WIDGET_MESSAGES_PER_MINUTE", 6000)
# Shared by every server process through Redis (chat/ratelimit.py): one address (a
# visitor's or a whole office's) and new anonymous visitors (contacts) per address/widget.
KEFU_IP_MESSAGES_PER_MINUTE = env_int("KEFU_IP_MESSAGES_PER_MINUTE", 120)
KEFU_IP_NEW_VISITORS_PER_HOUR = env_int("KEFU_IP_NEW_VISITORS_PER_HOUR", 60)
KEFU_WIDGET_NEW_VISITORS_PER_MINUTE = env_int("KEFU_WIDGET_NEW_VISITORS_PER_MINUTE", 600)
KEFU_RATELIMIT_PREFIX = env_str("KEFU_RATELIMIT_PREFIX", "kefu:rl:")
# An open inbox socket re-reads its member's role and password at least this often while
# events flow to it (besides on every frame and when the member is changed or removed).
KEFU_MEMBER_RECHECK_S = env_int("KEFU_MEMBER_RECHECK_S", 5)
KEFU_VISITOR_TOKEN_MAX_AGE_S = env_int("KEFU_VISITOR_TOKEN_MAX_AGE_S", 60 * 60 * 24 * 365)
# A widget refusing a site's origin notes it for the portal at most this often (tenants.origins).
KEFU_REFUSED_ORIGIN_THROTTLE_S = env_int("KEFU_REFUSED_ORIGIN_THROTTLE_S", 10)
# Attachments (chat.attachments): images and PDFs up to this size, stored through Django's
# default storage (STORAGES["default"]: the filesystem under MEDIA_ROOT, or S3 by settings).
KEFU_ATTACHMENT_MAX_BYTES = env_int("KEFU_ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024)
MEDIA_ROOT = Path(os.environ.get("KEFU_MEDIA_ROOT", "") or BASE_DIR / "var" / "media")

# --- auth, i18n, static -----------------------------------------------------------------
# Django's cache: Redis with REDIS_URL (shared by every process: log-in throttling), else
# this process's memory (embedded mode, one process).
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "kefu",
            "OPTIONS": {"socket_timeout": 1, "socket_connect_timeout": 1},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Log-in throttling (tenants/login_throttle.py): failures per account and per address
# within the window lock that account / address out for the cool-off (429, even with the
# right password).
KEFU_LOGIN_FAILURES_PER_ACCOUNT = env_int("KEFU_LOGIN_FAILURES_PER_ACCOUNT", 5)
KEFU_LOGIN_FAILURES_PER_IP = env_int("KEFU_LOGIN_FAILURES_PER_IP", 30)
KEFU_LOGIN_WINDOW_S = env_int("KEFU_LOGIN_WINDOW_S", 900)
KEFU_LOGIN_COOLOFF_S = env_int("KEFU_LOGIN_COOLOFF_S", 900)
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "UTC"
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
WHITENOISE_USE_FINDERS = True

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "tenants.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "tenants.pagination.BoundedLimitOffsetPagination",
    "PAGE_SIZE": 50,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Kefu API",
    "DESCRIPTION": "Multi-tenant customer-service platform. Every route lives under /api/t/{tenant}/.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # ReDoc from drf-spectacular-sidecar's static files: /api/docs/ needs no network.
    "REDOC_DIST": "SIDECAR",
}

# --- e-mail (mail app, issue 13 #1) ---------------------------------------------------------
# The demo writes mail to files under var/mail (the portal's Outbox page lists it); a
# deployment sends through SMTP with the standard variables below.
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.filebased.EmailBackend" if EMBEDDED else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_FILE_PATH = Path(os.environ.get("EMAIL_FILE_PATH", "") or BASE_DIR / "var" / "mail")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Kefu <support@kefu.localhost>")
# Visitors' e-mail answers come back to reply+<conversation>.<signature>@ this domain
# (route it to POST /inbound/mail/ at the mail provider).
KEFU_MAIL_INBOUND_DOMAIN = env_str("KEFU_MAIL_INBOUND_DOMAIN", "reply.kefu.localhost")
# An agent's reply is mailed when the visitor has not read it this long after it was sent.
KEFU_MAIL_REPLY_DELAY_S = env_int("KEFU_MAIL_REPLY_DELAY_S", 60)
# Beat sends due mail (delayed replies, retries, tasks lost with the broker) this often.
KEFU_MAIL_SWEEP_S = env_int("KEFU_MAIL_SWEEP_S", 15)
KEFU_MAIL_MAX_ATTEMPTS = env_int("KEFU_MAIL_MAX_ATTEMPTS", 6)
KEFU_MAIL_INBOUND_MAX_BYTES = env_int("KEFU_MAIL_INBOUND_MAX_BYTES", 1_000_000)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("KEFU_LOG_LEVEL", "INFO")},
}
