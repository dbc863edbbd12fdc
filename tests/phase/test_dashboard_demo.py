"""The demo company tells the phase story on the dashboard's first open: 180 days of daily
snapshots climbing from Authoritarian through Inclusive to Collaborative, Social out of reach."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

from accounts.models import User
from engage.dashboard.presentation import phase_periods
from engage.models import LeaderboardOptOut, PhaseSnapshot

pytestmark = pytest.mark.django_db


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", "--force", stdout=out)
    return out.getvalue()


def test_the_demo_climbs_to_collaborative_with_the_gates_of_social_unmet():
    output = seed()
    assert "engage.dashboard.demo.seed_phase: 181 days of daily snapshots" in output

    history = list(PhaseSnapshot.objects.filter(scope_key=0).order_by("day"))
    assert len(history) == 181
    assert (history[-1].day - history[0].day).days == 180
    periods = phase_periods([(s.day, s.phase) for s in history])
    assert [p.name for p in periods] == ["Authoritarian", "Inclusive", "Collaborative"]
    assert all(p.days >= 30 for p in periods), periods
    assert all(s.result["backfilled"] for s in history[:-2])

    latest = history[-1].result
    assert latest["name"] == "Collaborative"
    unmet = {gate["key"] for gate in latest["next_phase"]["unmet"]}
    assert latest["next_phase"]["name"] == "Social"
    assert unmet
    assert unmet <= {"active_employee_ratio", "department_coverage", "certified_ratio", "insights_adopted"}
    departments = PhaseSnapshot.objects.filter(day=history[-1].day, scope="department").count()
    assert departments == 12
    assert LeaderboardOptOut.objects.count() == 4

    executive = User.objects.get(email="exec@demo.engage")
    client = Client()
    client.force_login(executive)
    page = client.get("/dashboard/").content.decode()
    assert "Collaborative <span" in page
    assert "What stands between the organisation and Social" in page

    again = seed()
    assert "seed_phase" not in again
    assert PhaseSnapshot.objects.filter(scope_key=0).count() == 181
