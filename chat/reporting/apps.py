from django.apps import AppConfig


class ReportingConfig(AppConfig):
    """Dashboards: metrics from chat's reporting events, roll-ups, drill-downs."""

    name = "chat.reporting"
    label = "reporting"
    default_auto_field = "django.db.models.BigAutoField"
