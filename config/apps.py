from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class PlatformConfig(AppConfig):
    """The platform's own plumbing: the job outbox and the embedded scheduler."""

    name = "config"
    label = "platform"
    verbose_name = "Platform"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Register every app's tasks now, once, rather than lazily from several threads
        # (Celery's own discovery runs only in workers).
        autodiscover_modules("tasks")
