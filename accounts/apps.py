from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "People and departments"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Everything accounts adds to the platform, in one module (ARCHITECTURE.md, "Wiring").
        from accounts import wiring

        wiring.wire()
