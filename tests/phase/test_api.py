"""The phase and participation API: who may see what, input checks, and the shapes."""

from __future__ import annotations

from datetime import date, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import DepartmentKind, RoleName
from config.activity import ActivityKind
from engage.models import PhaseConfigChange, PhaseSnapshot
from engage.phase import selectors as phase_selectors
from engage.phase.definitions import GATE_KEYS, default_thresholds
from tests.factories import DepartmentFactory, UserFactory
from tests.phase.conftest import at, fold, record

pytestmark = pytest.mark.django_db

PHASE = "/api/v1/phase/"
CONFIG = "/api/v1/phase/config/"
HISTORY = "/api/v1/phase/history/"
RECOMPUTE = "/api/v1/phase/recompute/"
PARTICIPATION = "/api/v1/participation/"


@pytest.fixture
def executive(department):
    return UserFactory(department=department, roles=[RoleName.EXECUTIVE])


# --- Who sees what ---------------------------------------------------------------------------------


def test_phase_is_for_executives_and_admins(api, owner, executive, admin_user):
    assert api().get(PHASE).status_code == 401
    assert api(owner).get(PHASE).status_code == 403
    response = api(executive).get(PHASE)
    assert response.status_code == 200
    assert api(admin_user).get(PHASE).status_code == 200


def test_the_first_read_computes_today_with_departments(api, executive, department, other_department):
    assert not PhaseSnapshot.objects.exists()
    body = api(executive).get(PHASE).json()
    assert body["as_of"] == timezone.localdate().isoformat()
    assert body["phase"] in (1, 2, 3, 4)
    assert body["name"] == {1: "Authoritarian", 2: "Inclusive", 3: "Collaborative", 4: "Social"}[body["phase"]]
    reported_only = ("contribution_evenness", "customer_satisfaction")
    assert [g["key"] for g in body["gates"]] == [key for key in GATE_KEYS if key not in reported_only]
    for field in ("raw_phase", "window_days", "stability_days", "thresholds", "metrics", "next_phase"):
        assert field in body
    assert sorted(d["department"]["slug"] for d in body["departments"]) == ["finance", "support"]
    assert PhaseSnapshot.objects.filter(scope_key=0).count() == 1


def test_reading_the_phase_costs_the_same_whatever_the_number_of_departments(api, executive):
    def queries_for_a_read() -> int:
        PhaseSnapshot.objects.all().delete()
        client = api(executive)
        client.get(PHASE)  # computes
        with CaptureQueriesContext(connection) as captured:
            assert client.get(PHASE).status_code == 200
        return len(captured)

    DepartmentFactory(slug="one")
    few = queries_for_a_read()
    for n in range(8):
        DepartmentFactory(slug=f"more-{n}")
    assert queries_for_a_read() == few


def test_a_department_result_is_for_its_members_executives_and_admins(
    api, owner, outsider, executive, admin_user, department
):
    url = f"{PHASE}departments/{department.slug}/"
    response = api(owner).get(url)
    assert response.status_code == 200
    body = response.json()
    assert body["department"]["slug"] == department.slug
    assert "departments" not in body
    assert api(outsider).get(url).status_code == 404  # another department's employee
    assert api(executive).get(url).status_code == 200
    assert api(admin_user).get(url).status_code == 200
    assert api(owner).get(f"{PHASE}departments/no-such/").status_code == 404


def test_a_department_made_after_the_last_snapshot_is_computed_on_first_read(api, owner, executive):
    api(executive).get(PHASE)
    newer = DepartmentFactory(slug="newer", kind=DepartmentKind.HR)
    member = UserFactory(department=newer)
    response = api(member).get(f"{PHASE}departments/newer/")
    assert response.status_code == 200
    assert response.json()["department"]["slug"] == "newer"


# --- History ---------------------------------------------------------------------------------------


def test_history_is_one_snapshot_a_day_oldest_first(api, executive, owner, department):
    call_command("recompute_phase", "--backfill", "4", stdout=StringIO())
    response = api(executive).get(HISTORY, {"days": 3})
    assert response.status_code == 200
    days = [row["as_of"] for row in response.json()["results"]]
    today = timezone.localdate()
    assert days == [(today - timedelta(days=n)).isoformat() for n in (2, 1, 0)]
    # Each day comes back exactly as it was stored, with the paginated envelope around it.
    assert response.json()["results"][-1] == phase_selectors.phase_history(days=1).get().result
    assert response.json()["next"] is None
    assert response.json()["count"] == 3
    assert len(api(executive).get(HISTORY).json()["results"]) == 5  # 90 by default; five exist
    by_department = api(executive).get(HISTORY, {"days": 2, "department": department.slug}).json()["results"]
    assert [row["department"]["slug"] for row in by_department] == [department.slug] * 2
    assert api(owner).get(HISTORY).status_code == 403


@pytest.mark.parametrize("days", ["731", "0", "-3", "many", "1.5"])
def test_history_refuses_days_out_of_range(api, executive, days):
    response = api(executive).get(HISTORY, {"days": days})
    assert response.status_code == 400
    assert "days" in response.json()


def test_history_accepts_the_maximum(api, executive):
    assert api(executive).get(HISTORY, {"days": 730}).status_code == 200


# --- Configuration -----------------------------------------------------------------------------------


def test_executives_read_the_configuration_and_only_admins_change_it(api, owner, executive, admin_user):
    body = api(executive).get(CONFIG).json()
    assert body == {"window_days": 30, "stability_days": 7, "thresholds": default_thresholds()}
    assert api(owner).get(CONFIG).status_code == 403
    assert api(executive).patch(CONFIG, {"window_days": 14}, format="json").status_code == 403
    assert api(owner).patch(CONFIG, {"window_days": 14}, format="json").status_code == 403
    assert api(admin_user).get(CONFIG).status_code == 200


def test_patch_changes_only_what_it_names_and_is_audited(api, admin_user):
    response = api(admin_user).patch(CONFIG, {"thresholds": {"response_rate": 0.4}}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["thresholds"]["response_rate"] == 0.4
    assert body["thresholds"]["two_way_ratio"] == 0.2
    assert body["window_days"] == 30
    change = PhaseConfigChange.objects.get()
    assert change.changed_by == admin_user
    assert change.before["thresholds"]["response_rate"] == 0.25
    assert change.after["thresholds"]["response_rate"] == 0.4
    # The same values again change nothing and add no audit row.
    api(admin_user).patch(CONFIG, {"thresholds": {"response_rate": 0.4}}, format="json")
    assert PhaseConfigChange.objects.count() == 1
    response = api(admin_user).patch(CONFIG, {"stability_days": 1, "window_days": 60}, format="json")
    assert response.json()["thresholds"]["response_rate"] == 0.4  # kept
    assert (response.json()["window_days"], response.json()["stability_days"]) == (60, 1)


def test_put_replaces_the_configuration(api, admin_user):
    api(admin_user).patch(CONFIG, {"thresholds": {"response_rate": 0.4, "certified_ratio": 0.7}}, format="json")
    response = api(admin_user).put(
        CONFIG, {"window_days": 28, "stability_days": 3, "thresholds": {"certified_ratio": 0.5}}, format="json"
    )
    assert response.status_code == 200
    body = response.json()
    assert body["thresholds"]["certified_ratio"] == 0.5
    assert body["thresholds"]["response_rate"] == 0.25  # left out: back to the default
    assert (body["window_days"], body["stability_days"]) == (28, 3)
    missing = api(admin_user).put(CONFIG, {"window_days": 28}, format="json")
    assert missing.status_code == 400
    assert missing.json()["field"] == "stability_days"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"thresholds": {"no_such_gate": 0.5}}, "thresholds"),
        ({"thresholds": {"response_rate": 1.5}}, "thresholds"),
        ({"thresholds": {"response_rate": -0.1}}, "thresholds"),
        ({"thresholds": {"response_rate": "high"}}, "thresholds"),
        ({"thresholds": {"response_rate": True}}, "thresholds"),
        ({"thresholds": {"response_rate": None}}, "thresholds"),
        ({"thresholds": {"answering_departments": 1.5}}, "thresholds"),
        ({"thresholds": {"insights_adopted": -1}}, "thresholds"),
        ({"thresholds": {"insights_adopted": 10**400}}, "thresholds"),
        ({"thresholds": ["response_rate"]}, "thresholds"),
        ({"window_days": 0}, "window_days"),
        ({"window_days": 366}, "window_days"),
        ({"window_days": "30"}, "window_days"),
        ({"stability_days": 0}, "stability_days"),
        ({"stability_days": 91}, "stability_days"),
        ({"stability_days": 2.5}, "stability_days"),
    ],
)
def test_config_patch_refuses_unknown_gates_and_values_out_of_range(api, admin_user, data, field):
    response = api(admin_user).patch(CONFIG, data, format="json")
    assert response.status_code == 400
    assert response.json()["field"] == field
    assert not PhaseConfigChange.objects.exists()
    assert api(admin_user).get(CONFIG).json()["thresholds"] == default_thresholds()


def test_contribution_evenness_may_be_given_a_threshold_and_then_gates_social(api, admin_user, executive):
    response = api(admin_user).patch(CONFIG, {"thresholds": {"contribution_evenness": 0.5}}, format="json")
    assert response.status_code == 200
    body = api(executive).get(PHASE).json()
    evenness = next(g for g in body["gates"] if g["key"] == "contribution_evenness")
    assert evenness["phase"] == 4
    assert evenness["threshold"] == 0.5
    assert all(m["key"] != "contribution_evenness" for m in body["metrics"])
    back = api(admin_user).patch(CONFIG, {"thresholds": {"contribution_evenness": None}}, format="json")
    assert back.json()["thresholds"]["contribution_evenness"] is None


def test_a_threshold_change_shows_in_the_next_snapshot_and_old_ones_keep_theirs(
    api, admin_user, django_capture_on_commit_callbacks
):
    yesterday = timezone.localdate() - timedelta(days=1)
    call_command("recompute_phase", "--backfill", "1", stdout=StringIO())
    changed = api(admin_user).patch(CONFIG, {"thresholds": {"two_way_ratio": 0.9}}, format="json")
    assert changed.status_code == 200, changed.json()
    with django_capture_on_commit_callbacks(execute=True):  # the job runs in-process after the commit
        assert api(admin_user).post(RECOMPUTE).status_code == 202
    today = PhaseSnapshot.objects.get(scope_key=0, day=timezone.localdate())
    assert today.thresholds["thresholds"]["two_way_ratio"] == 0.9
    assert today.result["thresholds"]["two_way_ratio"] == 0.9
    old = PhaseSnapshot.objects.get(scope_key=0, day=yesterday)
    assert old.thresholds["thresholds"]["two_way_ratio"] == 0.2


# --- Recompute ------------------------------------------------------------------------------------------


def test_recompute_is_for_admins_and_answers_202_with_a_job(
    api, admin_user, executive, owner, django_capture_on_commit_callbacks
):
    assert api(executive).post(RECOMPUTE).status_code == 403
    assert api(owner).post(RECOMPUTE).status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        response = api(admin_user).post(f"{RECOMPUTE}?backfill=2")
    assert response.status_code == 202
    assert response.json()["job"]
    # Embedded here, the job ran after the commit: today and the two days before.
    today = timezone.localdate()
    days = set(PhaseSnapshot.objects.filter(scope_key=0).values_list("day", flat=True))
    assert days == {today - timedelta(days=n) for n in range(3)}


@pytest.mark.parametrize("backfill", ["-1", "731", "x"])
def test_recompute_refuses_a_bad_backfill(api, admin_user, backfill):
    response = api(admin_user).post(f"{RECOMPUTE}?backfill={backfill}")
    assert response.status_code == 400
    assert "backfill" in response.json()


def test_the_command_prints_progress_and_is_idempotent(department):
    out = StringIO()
    call_command("recompute_phase", "--backfill", "2", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("rollups:")
    assert [line.split("]")[0] for line in lines[1:4]] == ["[1/3", "[2/3", "[3/3"]
    assert "computed 3 days" in lines[-1]
    call_command("recompute_phase", "--backfill", "2", stdout=StringIO())
    assert PhaseSnapshot.objects.count() == 6  # three days times (organisation + one department)


# --- Participation ---------------------------------------------------------------------------------------


def test_participation_is_grouped_from_the_rollups(api, executive, owner, outsider, department, other_department):
    first, second = date(2026, 3, 1), date(2026, 3, 2)
    record(ActivityKind.QUERY_CLAIMED, owner, at(first))
    record(ActivityKind.QUERY_CLAIMED, owner, at(first, 13))
    record(ActivityKind.ANSWER_PUBLISHED, owner, at(second))
    record(ActivityKind.MESSAGE_SHARED, outsider, at(second))
    record(ActivityKind.SHARE_LINK_CLICKED, None, at(second))
    record(ActivityKind.QUERY_CLAIMED, owner, at(date(2026, 3, 5)))  # outside the range
    fold()
    params = {"from": "2026-03-01", "to": "2026-03-02"}

    response = api(executive).get(PARTICIPATION, {**params, "group_by": "department,kind"})
    assert response.status_code == 200
    rows = {(r["department"], r["kind"]): r["events"] for r in response.json()["results"]}
    assert rows == {
        ("support", "query_claimed"): 2,
        ("support", "answer_published"): 1,
        ("finance", "message_shared"): 1,
        (None, "share_link_clicked"): 1,
    }
    by_day = api(executive).get(PARTICIPATION, {**params, "group_by": "day"}).json()["results"]
    assert by_day == [{"day": "2026-03-01", "events": 2}, {"day": "2026-03-02", "events": 3}]
    total = api(executive).get(PARTICIPATION, params).json()["results"]
    assert total == [{"events": 5}]
    assert api(owner).get(PARTICIPATION, params).status_code == 403


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"group_by": "department,person"}, "group_by"),
        ({"from": "2026-03-05", "to": "2026-03-01"}, "from"),
        ({"from": "yesterday"}, "from"),
        ({"to": "2026-02-30"}, "to"),
        ({"from": "2020-01-01", "to": "2026-01-01"}, "from"),
    ],
)
def test_participation_refuses_bad_input(api, executive, params, field):
    response = api(executive).get(PARTICIPATION, params)
    assert response.status_code == 400
    assert field in response.json()


def test_the_schema_describes_the_phase_api(api, admin_user):
    response = api(admin_user).get("/api/v1/schema/", {"format": "json"})
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in (
        "/api/v1/phase/",
        "/api/v1/phase/departments/{slug}/",
        "/api/v1/phase/history/",
        "/api/v1/phase/config/",
        "/api/v1/phase/recompute/",
        "/api/v1/participation/",
    ):
        assert path in paths
