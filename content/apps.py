from django.apps import AppConfig


class ContentConfig(AppConfig):
    name = "content"
    verbose_name = "Approved messaging and toolkits"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from accounts import notifications
        from accounts.signals import collect_personal_data
        from content import receivers

        notifications.register_kind("content_review_requested", "Messaging waiting for your review")
        notifications.register_kind("content_review_result", "Reviews of messaging you wrote")
        collect_personal_data.connect(receivers.collect_personal_data, dispatch_uid="content.collect_personal_data")
        receivers.register_navigation()
        receivers.register_review_sections()
