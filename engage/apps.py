from django.apps import AppConfig


class EngageConfig(AppConfig):
    name = "engage"
    verbose_name = "Community queries and participation"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Everything engage adds to the platform, in one module (ARCHITECTURE.md, "Wiring").
        from engage import wiring

        wiring.wire()
