from django.apps import AppConfig


class PlatformConfig(AppConfig):
    """The platform's own plumbing: the job outbox and the embedded scheduler."""

    name = "config"
    label = "platform"
    verbose_name = "Platform"
    default_auto_field = "django.db.models.BigAutoField"
