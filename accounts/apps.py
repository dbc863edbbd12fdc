from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "People and departments"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from accounts import notifications

        notifications.register_builtin_kinds()
