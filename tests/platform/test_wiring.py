"""Every signal a higher app must hear reaches its receiver.

The receivers are connected by direct imports in ``AppConfig.ready()``; this test fails
if one is missing (a receiver not connected, a signal renamed and connected to nothing).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.dispatch import Signal
from django.utils import timezone

from accounts.models import User
from accounts.signals import collect_personal_data
from config.activity import Activity, ActivityKind
from content.models import Message
from content.signals import activity as content_activity
from engage import receivers
from engage.models import ParticipationEvent
from training.models import Course
from training.signals import activity as training_activity

pytestmark = pytest.mark.django_db


def _receivers(signal: Signal, **kwargs: Any) -> list[Any]:
    return [receiver for receiver, _response in signal.send(**kwargs)]


@pytest.mark.parametrize(
    ("signal", "sender", "kind", "object_type"),
    [
        (training_activity, Course, ActivityKind.COURSE_COMPLETED, "training.course"),
        (content_activity, Message, ActivityKind.MESSAGE_PUBLISHED, "content.message"),
    ],
)
def test_the_activity_of_each_lower_app_reaches_the_participation_log(
    signal: Signal, sender: type, kind: str, object_type: str
) -> None:
    fact = Activity(kind=kind, occurred_at=timezone.now(), object_type=object_type, object_id=7, key=f"wiring:{kind}")
    assert receivers.on_activity in _receivers(signal, sender=sender, activity=fact)
    assert ParticipationEvent.objects.filter(key=fact.key, kind=kind).count() == 1


def test_a_personal_data_export_asks_engage_for_its_part() -> None:
    user = User.objects.create_user(email="wiring@example.com", name="Wiring")
    assert receivers.export_personal_data in _receivers(collect_personal_data, sender=User, user=user)
