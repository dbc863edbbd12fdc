from django.apps import AppConfig


class TrainingConfig(AppConfig):
    name = "training"
    verbose_name = "Training and certification"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Everything training adds to the platform, in one module (ARCHITECTURE.md, "Wiring").
        from training import wiring

        wiring.wire()
