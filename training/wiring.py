"""What ``training`` adds to the platform, wired once from ``TrainingConfig.ready()``.

Its notification kinds, its navigation and home card, and its part of a person's data
export (``accounts.signals.collect_personal_data``). Direct imports: a renamed registry or
signal stops the start-up (ARCHITECTURE.md, "Wiring").
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils import timezone

from accounts.models import RoleName, User
from accounts.navigation import register_home_card, register_nav_item
from accounts.notifications import register_kind
from accounts.signals import collect_personal_data
from training import receivers, selectors


def _training_card(request: HttpRequest) -> dict[str, Any]:
    user = request.user
    assert isinstance(user, User)  # cards are drawn for signed-in people only
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


def wire() -> None:
    register_kind("training.course_assigned", "Training assigned to you")
    register_kind("training.assignment_due", "Training due soon")
    register_kind("training.assignment_overdue", "Training overdue")
    register_kind("training.certification_expiring", "Certifications about to expire")
    register_kind("training.certification_expired", "Certifications that expired", email_default=False)

    register_nav_item(key="training", label="Training", url_name="training:my", order=40)
    register_nav_item(
        key="training-manage", label="Courses", url_name="training:manage", order=45, roles=[RoleName.CURATOR]
    )
    register_home_card(key="training", template_name="training/cards/training.html", order=40, context=_training_card)

    collect_personal_data.connect(receivers.collect_personal_data, sender=User, dispatch_uid="training.personal_data")
