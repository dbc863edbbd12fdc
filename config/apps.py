import importlib
import importlib.util

from django.apps import AppConfig, apps


class PlatformConfig(AppConfig):
    """The platform's own plumbing: the job outbox and the embedded scheduler."""

    name = "config"
    label = "platform"
    verbose_name = "Platform"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Register every app's tasks now, once, rather than lazily from several threads
        # (Celery's own discovery runs only in workers).
        for config in apps.get_app_configs():
            if importlib.util.find_spec(f"{config.name}.tasks") is not None:
                importlib.import_module(f"{config.name}.tasks")
