"""Receivers of other apps' signals (connected by ``training.wiring``).

Erasure keeps training rows as they are: they hold no more than the person's id (which
``accounts`` anonymises), answers and dates, and they are what keeps the counts.
"""

from __future__ import annotations

from typing import Any

from accounts.models import User
from training.services import personal_data


def collect_personal_data(sender: type, user: User, **kwargs: Any) -> dict[str, Any]:
    """The person's part of training for their data export (``accounts.signals.collect_personal_data``)."""
    return personal_data(user=user)
