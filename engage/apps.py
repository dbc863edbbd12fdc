from django.apps import AppConfig


class EngageConfig(AppConfig):
    name = "engage"
    verbose_name = "Community queries and participation"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from engage import receivers

        receivers.connect()
