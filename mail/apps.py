from django.apps import AppConfig


class MailConfig(AppConfig):
    name = "mail"
    label = "mail"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from mail import receivers  # noqa: F401 - connects tenants' signals (invitation, sign-up)
