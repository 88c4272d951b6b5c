from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from tenants import schema, signals  # noqa: F401 - schema registers the OpenAPI extension

        signals.connect()
