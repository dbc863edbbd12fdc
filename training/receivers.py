"""Receivers of other apps' signals (connected in ``TrainingConfig.ready``).

Erasure keeps training rows as they are: they hold no more than the person's id (which
``accounts`` anonymises), answers and dates, and they are what keeps the counts.
"""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from accounts.models import User
from accounts.signals import collect_personal_data


@receiver(collect_personal_data, sender=User, dispatch_uid="training.personal_data")
def _collect_personal_data(sender: type, user: User, **kwargs: Any) -> dict[str, Any]:
    from training.services import personal_data

    return personal_data(user=user)
