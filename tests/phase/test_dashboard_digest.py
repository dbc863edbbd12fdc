"""The weekly phase digest: to executives only, once per week however often it runs, with the
phase, what changed and the next gates."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from accounts.models import DepartmentKind, Notification, RoleName
from config.celery_app import app
from config.jobs import enqueue
from engage.dashboard import services
from engage.phase import services as phase_services
from tests.phase.conftest import answer, at, department, fold, person, query

pytestmark = pytest.mark.django_db


@pytest.fixture
def company(db):
    today = timezone.localdate()
    support = department("support")
    department("sales", kind=DepartmentKind.SALES)
    board = department("board", kind=DepartmentKind.EXECUTIVE, customer_facing=False)
    ceo = person(board, name="Cleo Chief", roles=[RoleName.EXECUTIVE])
    cfo = person(board, name="Finn Officer", roles=[RoleName.EXECUTIVE])
    agent = person(support, name="Ana Agent")
    # A week ago nothing was answered; yesterday most queries were.
    week_ago = today - timedelta(days=7)
    query(support, at(week_ago - timedelta(days=1), 9))
    for hour in (9, 10, 11):
        q = query(support, at(today - timedelta(days=1), hour), answered=at(today - timedelta(days=1), hour + 1))
        answer(q, agent, at(today - timedelta(days=1), hour + 1))
    fold()
    phase_services.phase_recompute(first=week_ago, last=today)
    return {"today": today, "executives": [ceo, cfo], "agent": agent}


def send(django_capture_on_commit_callbacks, **kwargs) -> int:
    with django_capture_on_commit_callbacks(execute=True):
        return services.phase_digest_send(**kwargs)


def test_the_digest_goes_to_each_executive_once_a_week(company, django_capture_on_commit_callbacks):
    assert send(django_capture_on_commit_callbacks, today=company["today"]) == 2
    assert send(django_capture_on_commit_callbacks, today=company["today"]) == 2  # run twice: nothing new
    assert sorted(m.to[0] for m in mail.outbox) == sorted(e.email for e in company["executives"])
    assert Notification.objects.filter(kind=services.DIGEST_KIND).count() == 2
    assert not Notification.objects.filter(user=company["agent"]).exists()

    next_week = company["today"] + timedelta(days=7)
    send(django_capture_on_commit_callbacks, today=next_week)
    assert len(mail.outbox) == 4


def test_the_digest_says_the_phase_what_changed_and_the_next_gates(company, django_capture_on_commit_callbacks):
    send(django_capture_on_commit_callbacks, today=company["today"])
    message = mail.outbox[0]
    year, week, _ = company["today"].isocalendar()
    assert message.subject == f"Weekly phase digest, {year}-W{week:02d}: Authoritarian"
    body = message.body
    assert "The organisation is Authoritarian (phase 1 of 4)" in body
    assert "What changed this week" in body
    assert "Response rate is now met (75%; needs 25%)." in body
    assert "What stands between us and Inclusive" in body
    assert "Two-way ratio" in body
    assert "/dashboard/" in body


def test_a_person_who_turned_the_digest_email_off_gets_it_in_the_app_only(company, django_capture_on_commit_callbacks):
    ceo, cfo = company["executives"]
    ceo.notification_prefs = {services.DIGEST_KIND: {"email": False, "in_app": True}}
    ceo.save(update_fields=["notification_prefs"])
    send(django_capture_on_commit_callbacks, today=company["today"])
    assert [m.to[0] for m in mail.outbox] == [cfo.email]
    assert Notification.objects.filter(user=ceo, kind=services.DIGEST_KIND, in_app=True).exists()


def test_nothing_is_sent_before_there_is_a_snapshot(db, django_capture_on_commit_callbacks):
    person(department("board", kind=DepartmentKind.EXECUTIVE, customer_facing=False), roles=[RoleName.EXECUTIVE])
    assert send(django_capture_on_commit_callbacks) == 0
    assert mail.outbox == []


def test_the_digest_job_is_scheduled_weekly_and_runs_through_the_queue(company, django_capture_on_commit_callbacks):
    entry = app.conf.beat_schedule["phase-digest-weekly"]
    assert entry["task"] == "engage.phase_digest"
    assert entry["schedule"].day_of_week == {1}  # Mondays
    for _ in range(2):  # delivered twice: one email each
        with django_capture_on_commit_callbacks(execute=True):
            enqueue("engage.phase_digest")
    assert len(mail.outbox) == 2
