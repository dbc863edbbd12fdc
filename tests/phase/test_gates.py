"""Gates, the raw phase and the stability rule: on hand-made figures, and over days of
snapshots where the answer is worked out day by day."""

from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction

import pytest
from django.utils import timezone

from accounts.models import DepartmentKind, RoleName
from engage.models import PhaseSnapshot, Query
from engage.phase.definitions import BACKFILL_NOTE
from engage.phase.gates import is_met, raw_phase, stabilise
from engage.phase.metrics import Measure, ratio
from engage.phase.services import phase_config_update, phase_recompute, phase_snapshot_daily
from tests.factories import UserFactory
from tests.phase.conftest import answer, at, department, fold, person, query

D1 = date(2026, 3, 1)


def day(n: int) -> date:
    return D1 + timedelta(days=n - 1)


def gate(key: str, phase: int, met: bool | None, applicable: bool = True) -> dict:
    return {"key": key, "phase": phase, "met": met, "applicable": applicable}


# --- Pure rules ------------------------------------------------------------------------------------


def test_a_ratio_meets_its_threshold_exactly_at_the_boundary():
    assert is_met(ratio("r", 1, 4), 0.25)
    assert not is_met(ratio("r", 1, 4), 0.2501)
    assert is_met(ratio("r", 1, 3), 0.3333)
    assert not is_met(ratio("r", 1, 3), 0.3334)


def test_an_undefined_metric_is_never_met():
    undefined = ratio("r", 0, 0)
    assert undefined.value is None
    assert not is_met(undefined, 0)
    assert not is_met(Measure(key="r", numerator=0, denominator=0, value=None), 0)


def test_the_raw_phase_needs_every_lower_phase():
    gates = [
        gate("a", 2, True),
        gate("b", 2, False),
        gate("c", 3, True),
        gate("d", 4, True),
    ]
    assert raw_phase(gates) == 1  # 3 and 4 hold, 2 does not
    gates[1]["met"] = True
    assert raw_phase(gates) == 4


def test_not_applicable_gates_are_skipped_and_a_phase_with_none_applicable_is_not_reached():
    gates = [
        gate("a", 2, None, applicable=False),
        gate("b", 2, True),
        gate("c", 3, None, applicable=False),
        gate("d", 4, True),
    ]
    assert raw_phase(gates) == 2


@pytest.mark.parametrize(
    ("previous", "recent", "expected"),
    [
        (None, [3], (3, "first")),
        (1, [2, 3, 2], (2, "raised")),  # above on each day: the lowest of them
        (1, [3, 4, 4], (3, "raised")),
        (3, [1, 2, 2], (2, "lowered")),  # below on each day: the highest of them
        (2, [3, 3, 2], (2, "held")),
        (2, [3, 1, 3], (2, "held")),  # above and below: stays
        (2, [2], (2, "held")),
        (2, [4], (4, "raised")),  # S = 1: the raw phase, at once
        (4, [1], (1, "lowered")),
    ],
)
def test_stability_rule(previous, recent, expected):
    assert stabilise(previous=previous, recent_raw=recent) == expected


# --- Over days ---------------------------------------------------------------------------------------


def configure(admin, when, **changes):
    phase_config_update(user=admin, data=changes, partial=True, now=when)


def build_days(pattern: list[int]) -> None:
    """Support answers its one query of the day (raw 2) or leaves it unanswered (raw 1).

    With a window of one day: response rate 1/1 or 0/1; two-way 1/1 when answered. Phase 3
    fails either way (one answer a day, and answering departments needs 3).
    """
    sup = department("sup")
    author = person(sup)
    for n, raw in enumerate(pattern, start=1):
        if raw == 2:
            q = query(sup, at(day(n), 9), answered=at(day(n), 10))
            answer(q, author, at(day(n), 10))
        else:
            query(sup, at(day(n), 9))
    fold()


def reported(days: int) -> list[int]:
    return list(
        PhaseSnapshot.objects.filter(scope_key=0, day__lte=day(days)).order_by("day").values_list("phase", flat=True)
    )


def raws(days: int) -> list[int]:
    return list(
        PhaseSnapshot.objects.filter(scope_key=0, day__lte=day(days))
        .order_by("day")
        .values_list("raw_phase", flat=True)
    )


@pytest.mark.django_db
def test_stability_days_up_and_down():
    admin = UserFactory(roles=[RoleName.ADMIN])
    configure(admin, at(day(1)) - timedelta(days=10), window_days=1, stability_days=3)
    pattern = [1, 2, 2, 1, 2, 2, 2, 1, 1, 1]
    build_days(pattern)
    assert phase_recompute(first=day(1), last=day(10)) == 10
    assert raws(10) == pattern
    # D1 first (its raw); up only once three days in a row are above (D7); down only once
    # three in a row are below (D10).
    assert reported(10) == [1, 1, 1, 1, 1, 1, 2, 2, 2, 1]
    d7 = PhaseSnapshot.objects.get(scope_key=0, day=day(7)).result
    assert d7["stability"]["rule"] == "raised"
    assert d7["stability"]["recent_raw_phases"] == [2, 2, 2]
    d9 = PhaseSnapshot.objects.get(scope_key=0, day=day(9)).result
    assert d9["stability"]["rule"] == "held"
    assert d9["raw_phase"] == 1
    assert d9["phase"] == 2
    assert "(2 so far)" in d9["stability"]["summary"]


@pytest.mark.django_db
def test_fewer_days_than_s_use_the_days_that_exist():
    admin = UserFactory(roles=[RoleName.ADMIN])
    configure(admin, at(day(1)) - timedelta(days=10), window_days=1, stability_days=5)
    build_days([2, 1, 1])
    phase_recompute(first=day(1), last=day(3))
    # D1 first: 2. D2, D3: D1 (raw 2) is not below 2, so it holds.
    assert reported(3) == [2, 2, 2]


@pytest.mark.django_db
def test_recomputing_a_day_recomputes_every_later_day():
    admin = UserFactory(roles=[RoleName.ADMIN])
    configure(admin, at(day(1)) - timedelta(days=10), window_days=1, stability_days=3)
    build_days([1, 2, 2, 1, 2, 2, 2, 1, 1, 1])
    phase_recompute(first=day(1), last=day(10))
    assert reported(10) == [1, 1, 1, 1, 1, 1, 2, 2, 2, 1]
    # A correction: the first day's query was answered after all (the facts say so now).
    first = Query.objects.get(received_at=at(day(1), 9))
    Query.objects.filter(pk=first.pk).update(state="answered", answered_at=at(day(1), 11))
    answer(first, person(first.department), at(day(1), 11))
    fold()
    assert phase_recompute(first=day(1), last=day(1)) == 10  # D1 and every later day
    # Now D1 is raw 2 and first; nothing after is below 2 three days running until D10.
    assert reported(10) == [2, 2, 2, 2, 2, 2, 2, 2, 2, 1]


@pytest.mark.django_db
def test_thresholds_changed_mid_history_apply_from_that_day_and_old_snapshots_keep_theirs():
    admin = UserFactory(roles=[RoleName.ADMIN])
    configure(admin, at(day(1)) - timedelta(days=10), window_days=1, stability_days=1)
    sup = department("sup")
    author = person(sup)
    for n in range(1, 7):  # every day: two queries, one answered → response rate 1/2
        q = query(sup, at(day(n), 9), answered=at(day(n), 10))
        answer(q, author, at(day(n), 10))
        query(sup, at(day(n), 9, 30))
    fold()
    phase_recompute(first=day(1), last=day(3))
    configure(admin, at(day(4)), thresholds={"response_rate": 0.6})  # changed at noon on D4
    phase_recompute(first=day(4), last=day(6))

    def state() -> list[tuple[int, float]]:
        rows = PhaseSnapshot.objects.filter(scope_key=0).order_by("day")
        return [(row.raw_phase, row.thresholds["thresholds"]["response_rate"]) for row in rows]

    expected = [(2, 0.25)] * 3 + [(1, 0.6)] * 3
    assert state() == expected
    d4 = PhaseSnapshot.objects.get(scope_key=0, day=day(4)).result
    assert d4["thresholds"]["response_rate"] == 0.6
    response = next(g for g in d4["gates"] if g["key"] == "response_rate")
    assert (response["value"], response["threshold"], response["met"]) == (0.5, 0.6, False)
    # Recomputing everything changes nothing: each day keeps the thresholds of its day.
    phase_recompute(first=day(1))
    assert state() == expected


@pytest.mark.django_db
def test_a_department_where_gates_do_not_apply_tops_out_below_collaborative():
    admin = UserFactory(roles=[RoleName.ADMIN])
    configure(admin, at(day(1)) - timedelta(days=10), window_days=1, stability_days=1)
    product = department("prd", DepartmentKind.PRODUCT, False)
    author = person(product)
    q = query(None, at(day(1), 9), answered=at(day(1), 10))
    answer(q, author, at(day(1), 10))
    fold()
    phase_recompute(first=day(1))
    result = PhaseSnapshot.objects.get(department=product, day=day(1)).result
    applicable = {g["key"]: g["applicable"] for g in result["gates"]}
    assert applicable == {
        "response_rate": False,
        "two_way_ratio": True,
        "answering_departments": False,
        "customer_facing_coverage": False,
        "non_marketing_answer_share": False,
        "sla_attainment": False,
        "active_employee_ratio": True,
        "department_coverage": False,
        "certified_ratio": False,
        "insights_adopted": True,
    }
    assert result["raw_phase"] == 2
    assert result["next_phase"]["reachable"] is False


@pytest.mark.django_db
def test_the_daily_job_snapshots_yesterday_idempotently_and_fills_missed_days():
    department("sup")
    yesterday = timezone.localdate() - timedelta(days=1)
    phase_recompute(first=yesterday - timedelta(days=4))
    phase_snapshot_daily()
    phase_snapshot_daily()
    days = list(PhaseSnapshot.objects.filter(scope_key=0).order_by("day").values_list("day", flat=True))
    assert days == [yesterday - timedelta(days=n) for n in range(4, -1, -1)]
    assert PhaseSnapshot.objects.filter(day=yesterday).count() == 2  # the organisation and its department
    fresh = PhaseSnapshot.objects.get(scope_key=0, day=yesterday).result
    assert fresh["backfilled"] is False
    assert fresh["notes"] == []
    old = PhaseSnapshot.objects.get(scope_key=0, day=yesterday - timedelta(days=4)).result
    assert old["backfilled"] is True
    assert old["notes"] == [BACKFILL_NOTE]


def test_exact_fractions_are_kept_for_comparisons():
    assert ratio("r", 2, 7).exact == Fraction(2, 7)
