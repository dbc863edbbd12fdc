from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.http import HttpRequest


def _training_card(request: HttpRequest) -> dict[str, Any]:
    from django.utils import timezone

    from training import selectors

    user: Any = request.user
    open_assignments = selectors.enrollments_for_user(user=user).filter(
        assigned_at__isnull=False, completed_at__isnull=True
    )
    today = timezone.localdate()
    return {
        "due": list(open_assignments[:5]),
        "overdue": open_assignments.filter(due_on__lt=today).count(),
        "certifications": list(selectors.certifications_for_user(user=user)[:3]),
        "now": timezone.now(),
    }


class TrainingConfig(AppConfig):
    name = "training"
    verbose_name = "Training and certification"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from accounts.models import RoleName
        from accounts.navigation import register_home_card, register_nav_item
        from accounts.notifications import register_kind

        register_kind("training.course_assigned", "Training assigned to you")
        register_kind("training.assignment_due", "Training due soon")
        register_kind("training.assignment_overdue", "Training overdue")
        register_kind("training.certification_expiring", "Certifications about to expire")
        register_kind("training.certification_expired", "Certifications that expired", email_default=False)

        register_nav_item(key="training", label="Training", url_name="training:my", order=40)
        register_nav_item(
            key="training-manage", label="Courses", url_name="training:manage", order=45, roles=[RoleName.CURATOR]
        )
        register_home_card(
            key="training", template_name="training/cards/training.html", order=40, context=_training_card
        )

        from training import receivers  # noqa: F401  (connects the receivers)
