from django.apps import AppConfig


class TrainingConfig(AppConfig):
    name = "training"
    verbose_name = "Training and certification"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from accounts.notifications import register_kind

        register_kind("training.course_assigned", "Training assigned to you")
        register_kind("training.assignment_due", "Training due soon")
        register_kind("training.assignment_overdue", "Training overdue")
        register_kind("training.certification_expiring", "Certifications about to expire")
        register_kind("training.certification_expired", "Certifications that expired", email_default=False)

        from training import receivers  # noqa: F401  (connects the receivers)
