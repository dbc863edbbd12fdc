"""The phase jobs are registered, scheduled, and do their work when run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from celery.schedules import crontab
from django.utils import timezone

from config.activity import ActivityKind
from config.celery_app import app
from config.jobs import task_named
from engage.models import DailyRollup, PhaseSnapshot
from tests.factories import UserFactory
from tests.phase.conftest import record


def test_the_phase_jobs_are_scheduled():
    schedule = {entry["task"]: entry["schedule"] for entry in app.conf.beat_schedule.values()}
    assert schedule["engage.phase_fold_rollups"] <= timedelta(seconds=15)  # lag well under a minute
    daily = schedule["engage.phase_snapshot_daily"]
    assert isinstance(daily, crontab)
    assert daily.hour == {0}


@pytest.mark.django_db
def test_the_fold_job_folds_and_the_daily_job_snapshots_yesterday():
    person = UserFactory()
    record(ActivityKind.QUERY_CLAIMED, person, datetime(2026, 3, 10, 12, tzinfo=UTC))
    assert task_named("engage.phase_fold_rollups").apply().get() == 1
    assert DailyRollup.objects.get().count == 1
    task_named("engage.phase_snapshot_daily").apply().get()
    yesterday = timezone.localdate() - timedelta(days=1)
    assert PhaseSnapshot.objects.filter(scope_key=0, day=yesterday).exists()
    task_named("engage.phase_recompute").apply(kwargs={"backfill": 1, "job": "abc"}).get()
    assert PhaseSnapshot.objects.filter(scope_key=0).count() == 2  # yesterday and today
