"""The content part of the demo company: a believable history, every workflow state, and a
second run that adds nothing."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from django.db.models import F
from django.utils import timezone

from accounts.demo import seed_people
from config.management.commands.seed_demo import SEED_STEPS
from content.demo import seed_content
from content.models import Action, Message, Share, ShareClick, Status, Toolkit, ToolkitItemUse
from training.demo import seed_training

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def test_the_demo_has_approved_messaging_shares_clicks_and_toolkits():
    assert SEED_STEPS.index("content.demo.seed_content") > SEED_STEPS.index("training.demo.seed_training")
    seed_people(rng=random.Random("people"))
    seed_training(rng=random.Random("training"))
    summary = seed_content(rng=random.Random("content"))
    assert summary
    now = timezone.now()

    statuses = {m.status_at(now) for m in Message.objects.all()}
    assert statuses == {Status.DRAFT, Status.IN_REVIEW, Status.SCHEDULED, Status.PUBLISHED, Status.EXPIRED}
    assert Message.objects.filter(pending_status="in_review").count() == 1  # an edit of a live message
    assert Message.objects.filter(events__action=Action.REJECTED).exists()
    assert Message.objects.filter(events__action=Action.WITHDRAWN).count() == 1
    # Nobody approved their own message.
    assert not Message.objects.filter(approved_by=F("author")).exists()
    # The broadcast era came first: most of the first months' messages are for everyone.
    published = Message.objects.filter(first_published_at__isnull=False)
    assert published.count() >= 20
    assert published.filter(first_published_at__lt=now - timedelta(days=120), audience__isnull=True).count() >= 5

    shares = Share.objects.select_related("message")
    assert 150 <= shares.count() <= 1500
    for share in shares:
        went_live = share.message.first_published_at
        assert went_live <= share.created_at
        assert share.message.expires_at is None or share.created_at < share.message.expires_at
    # Sharing grows: the last two months see more than the first two.
    recent = shares.filter(created_at__gte=now - timedelta(days=60)).count()
    early = shares.filter(created_at__lt=now - timedelta(days=120)).count()
    assert recent > early
    assert ShareClick.objects.count() >= shares.count() // 2
    assert not ShareClick.objects.filter(clicked_at__lt=F("share__created_at")).exists()
    assert Share.objects.filter(click_count__gt=0).exists()

    assert Toolkit.objects.filter(status=Status.PUBLISHED).count() == 3
    assert ToolkitItemUse.objects.count() > 20
    assert Toolkit.objects.filter(items__kind="course").exists()
    assert Toolkit.objects.filter(items__kind="file").exists()

    assert seed_content(rng=random.Random("content")) is None  # a second run adds nothing
