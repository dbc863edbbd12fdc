from django.apps import AppConfig


class ContentConfig(AppConfig):
    name = "content"
    verbose_name = "Approved messaging and toolkits"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Everything content adds to the platform, in one module (ARCHITECTURE.md, "Wiring").
        from content import wiring

        wiring.wire()
