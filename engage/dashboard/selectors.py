"""Reads of the executive dashboard: the phase with its reasons, gate progress, history,
the department heat map, contribution evenness, participation, and the drill-down.

Everything but the drill-down reads snapshots (``PhaseSnapshot``) and rollups through
:mod:`engage.phase.selectors`, a fixed number of queries whatever the size of the log.
The drill-down opens the rows behind one figure (:func:`engage.phase.selectors.metric_rows`,
the engine's own definitions) and applies here, in one place, what the person may see.
What the pages say about the figures (words, labels, chart and heat-map shapes, the
drill-down's cells) is :mod:`engage.dashboard.presentation`, pure functions of what is read here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Max, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.dateparse import parse_date

from accounts.models import Department, DepartmentKind, RoleName, User
from engage.dashboard.follow_ups import follow_up_report
from engage.dashboard.presentation import (
    KIND_LABELS,
    TABLE_STEP_DAYS,
    GateView,
    gate_views,
    heat_columns,
    heat_rows,
    history_chart,
    history_table,
    ladder,
    metric_cards,
    next_gate_views,
    phase_card,
    phase_grid,
    phase_periods,
    reason_views,
    week_changes,
    with_previous,
)
from engage.models import PhaseSnapshot
from engage.phase import selectors as phase_selectors
from engage.phase.definitions import METRIC_BY_KEY
from engage.selectors import answers_visible_to, queries_visible_to, sees_all_queries

HISTORY_CHOICES = (30, 90, 180, 365)
HISTORY_DEFAULT = 180
ORGANISATION_KEY = 0


def department_phase_grid(*, days: int, last_day: date) -> dict[str, Any]:
    """Each department's reported phase one day a week (the last one ``last_day``): a heat
    map of the story by department. One query, without the results' JSON."""
    wanted = [last_day - timedelta(days=TABLE_STEP_DAYS * i) for i in range(max(1, days // TABLE_STEP_DAYS))]
    wanted = [d for d in wanted if d > last_day - timedelta(days=days)]
    wanted.sort()
    rows = (
        phase_selectors.phase_departments_history(days=days, today=last_day)
        .filter(day__in=wanted)
        .values_list("department_id", "department__slug", "department__name", "day", "phase")
    )
    return phase_grid(wanted, rows)


def snapshot_of(*, day: date, department: Department | None = None) -> PhaseSnapshot | None:
    key = department.pk if department is not None else ORGANISATION_KEY
    return PhaseSnapshot.objects.filter(scope_key=key, day=day).first()


# --- Pages --------------------------------------------------------------------------------------------


def history_days(value: Any) -> int:
    """``days`` of the history charts: one of HISTORY_CHOICES; ValueError otherwise."""
    if value in (None, ""):
        return HISTORY_DEFAULT
    choices = f"{', '.join(str(d) for d in HISTORY_CHOICES[:-1])} or {HISTORY_CHOICES[-1]} days"
    try:
        days = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"Choose how far back to show: the last {choices}.") from None
    if days not in HISTORY_CHOICES:
        raise ValueError(f"Choose how far back to show: the last {choices} ({days} is not one of them).")
    return days


def _participation(*, as_of: date, window_days: int, first: date, department: Department | None) -> dict[str, Any]:
    window_first = as_of - timedelta(days=window_days - 1)
    active = phase_selectors.active_people_by_day(first=first, last=as_of, department=department)
    kinds: list[dict[str, Any]] = []
    if department is None:
        for row in phase_selectors.participation_counts(first=window_first, last=as_of, group_by=["kind"]):
            label = KIND_LABELS.get(row["kind"], row["kind"])
            kinds.append({"kind": row["kind"], "label": label, "events": row["events"]})
    kinds.sort(key=lambda row: -row["events"])
    by_day = {row["day"]: row["people"] for row in active}
    days = [(first + timedelta(days=i)).isoformat() for i in range((as_of - first).days + 1)]
    return {
        "chart": {"days": days, "people": [by_day.get(day, 0) for day in days]},
        "kinds": kinds,
        "window_first": window_first,
    }


def snapshots_version() -> str:
    """What changes whenever a snapshot is computed, recomputed or removed: the pages' figures
    are kept under it (one statement over the snapshots' index)."""
    seen = PhaseSnapshot.objects.aggregate(count=Count("id"), last_id=Max("id"), computed=Max("computed_at"))
    computed = seen["computed"].isoformat() if seen["computed"] is not None else "-"
    return f"{seen['count']}.{seen['last_id'] or 0}.{computed}"


def snapshot_for(*, as_of: date | None, department: Department | None = None) -> PhaseSnapshot | None:
    """The snapshot of ``as_of``, or the latest before it when that day has none; the
    latest of all without ``as_of``."""
    if as_of is None:
        return phase_selectors.phase_snapshot_latest(department=department)
    key = department.pk if department is not None else ORGANISATION_KEY
    return PhaseSnapshot.objects.filter(scope_key=key, day__lte=as_of).order_by("-day").first()


def _previous_period(snapshot: PhaseSnapshot, department: Department | None) -> PhaseSnapshot | None:
    """The snapshot that ends the period before ``snapshot``'s window (same length), if one exists
    within that period."""
    window = int(snapshot.result["window_days"])
    end = snapshot.day - timedelta(days=window)
    previous = snapshot_for(as_of=end, department=department)
    if previous is None or previous.day <= end - timedelta(days=window):
        return None
    return previous


def _kind_counts(*, first: date, last: date) -> dict[str, int]:
    return {
        row["kind"]: row["events"]
        for row in phase_selectors.participation_counts(first=first, last=last, group_by=["kind"])
    }


def _comparison(snapshot: PhaseSnapshot, asked: date | None, department: Department | None) -> dict[str, Any]:
    """What the page says about the day shown and the period it is compared with."""
    previous = _previous_period(snapshot, department)
    window = int(snapshot.result["window_days"])
    return {
        "asked_as_of": asked,
        "as_of_moved": asked is not None and asked != snapshot.day,
        "previous": previous.result if previous is not None else None,
        "previous_as_of": previous.day if previous is not None else None,
        "previous_first": previous.day - timedelta(days=window - 1) if previous is not None else None,
        "latest_day": snapshot.day
        if asked is None
        else (phase_selectors.phase_snapshot_latest(department=department) or snapshot).day,
        "earliest_day": timezone.localdate() - timedelta(days=phase_selectors.HISTORY_MAX_DAYS),
    }


def _phase_view(
    snapshot: PhaseSnapshot, history: list[PhaseSnapshot], comparison: dict[str, Any], *, days: int
) -> dict[str, Any]:
    """What the organisation's and a department's pages both show of one snapshot and its history."""
    result = snapshot.result
    previous = comparison["previous"]
    chart = history_chart(history)
    week_before = next((s for s in history if s.day == snapshot.day - timedelta(days=7)), None)
    return {
        **comparison,
        "result": result,
        "as_of": snapshot.day,
        "ladder": ladder(result["phase"]),
        "reasons": reason_views(result),
        "next_gates": with_previous(next_gate_views(result), previous),
        "gates": with_previous(gate_views(result), previous),
        "periods": phase_periods([(s.day, s.phase) for s in history]),
        "chart": chart,
        "table": history_table(chart),
        "metric_cards": with_previous(metric_cards(chart, result), previous),
        "changes": week_changes(result, week_before.result if week_before else None),
        "days": days,
        "day_choices": HISTORY_CHOICES,
    }


def dashboard_overview(*, days: int = HISTORY_DEFAULT, as_of: date | None = None) -> dict[str, Any] | None:
    """Everything the organisation's dashboard shows on ``as_of`` (the latest snapshot on or
    before it; the latest of all by default), with the previous period's figures beside
    (None before the first snapshot)."""
    snapshot = snapshot_for(as_of=as_of)
    if snapshot is None:
        return None
    result = snapshot.result
    comparison = _comparison(snapshot, as_of, None)
    departments = [row.result for row in phase_selectors.phase_snapshots_of_day(day=snapshot.day)]
    history = list(phase_selectors.phase_history(days=days, today=snapshot.day))
    rows = heat_rows(departments)
    answers_total = sum(row.answers for row in rows)
    evenness = next((g for g in gate_views(result) if g.key == "contribution_evenness"), None)
    first = history[0].day if history else snapshot.day
    participation = _participation(as_of=snapshot.day, window_days=result["window_days"], first=first, department=None)
    if comparison["previous_as_of"] is not None:
        before = _kind_counts(first=comparison["previous_first"], last=comparison["previous_as_of"])
        for row in participation["kinds"]:
            row["before"] = before.get(row["kind"], 0)
            row["delta"] = row["events"] - row["before"]
    return {
        **_phase_view(snapshot, history, comparison, days=days),
        "heat_columns": heat_columns(),
        "heat_rows": rows,
        "grid": department_phase_grid(days=days, last_day=snapshot.day),
        "evenness": evenness,
        "evenness_chart": {
            "labels": [row.name for row in rows if row.answers],
            "answers": [row.answers for row in rows if row.answers],
        },
        "answers_by_department": [
            {"name": row.name, "slug": row.slug, "answers": row.answers, "share": row.answers / answers_total}
            for row in sorted(rows, key=lambda r: (-r.answers, r.name))
            if row.answers and answers_total
        ],
        "participation": participation,
        "follow_ups": follow_up_report(as_of=snapshot.day, window_days=result["window_days"]),
    }


def department_overview(
    *, department: Department, days: int = HISTORY_DEFAULT, as_of: date | None = None
) -> dict[str, Any] | None:
    """What a department's page shows on ``as_of`` (as :func:`dashboard_overview`)."""
    snapshot = snapshot_for(as_of=as_of, department=department)
    if snapshot is None:
        return None
    result = snapshot.result
    comparison = _comparison(snapshot, as_of, department)
    history = list(phase_selectors.phase_history(days=days, department=department, today=snapshot.day))
    first = history[0].day if history else snapshot.day
    return {
        **_phase_view(snapshot, history, comparison, days=days),
        "department": department,
        "participation": _participation(
            as_of=snapshot.day, window_days=result["window_days"], first=first, department=department
        ),
        "follow_ups": follow_up_report(as_of=snapshot.day, window_days=result["window_days"], department=department),
    }


def home_card_data(*, user: User) -> dict[str, Any]:
    """The home card: the person's department's phase; for executives, the organisation's too."""
    data: dict[str, Any] = {"department": None, "organisation": None}
    if user.has_role(RoleName.EXECUTIVE):
        latest = phase_selectors.phase_snapshot_latest()
        if latest is not None:
            data["organisation"] = phase_card(latest.result)
    if user.department_id is not None:
        department = Department.objects.filter(pk=user.department_id).first()
        if department is not None:
            result = phase_selectors.phase_department_result(department=department)
            data["department"] = {"slug": department.slug, "name": department.name}
            if result is not None:
                data["department"].update(phase_card(result))
    return data


# --- Drill-down --------------------------------------------------------------------------------------


SIDES: dict[str, list[tuple[str, str]]] = {
    "response_rate": [("answered", "Answered"), ("unanswered", "Not answered")],
    "sla_attainment": [("on_time", "Within target"), ("late", "Late or overdue"), ("not_due", "Not due yet")],
    "active_employee_ratio": [("took_part", "Took part"), ("did_not", "Did not take part")],
    "department_coverage": [("took_part", "Took part"), ("did_not", "Did not take part")],
    "certified_ratio": [("certified", "Certified"), ("not_certified", "Not certified")],
    "non_marketing_answer_share": [("outside_marketing", "Outside marketing"), ("marketing", "Marketing")],
    "customer_satisfaction": [("satisfied", "Rated 4 or 5"), ("not_satisfied", "Rated 1 to 3")],
}

DRILL_TITLES = {
    "queries": "Queries received in the window",
    "answers": "Answers published in the window",
    "people": "People at the end of the day",
    "insight_changes": "Insights adopted",
    "ratings": "Customers' ratings of answers published in the window",
}


@dataclass
class Drill:
    key: str
    label: str
    kind: str
    as_of: date
    window_days: int
    department: Department | None
    figure: GateView | None
    rows: QuerySet[Any]
    side: str
    sides: list[tuple[str, str]]

    @property
    def title(self) -> str:
        return DRILL_TITLES[self.kind]

    @property
    def window_first(self) -> date:
        return self.as_of - timedelta(days=self.window_days - 1)


def parse_day(value: Any) -> date:
    """A day (YYYY-MM-DD) no later than today and at most two years back; ValueError otherwise."""
    try:
        day = parse_date(str(value))
    except ValueError:
        day = None
    if day is None:
        raise ValueError("Give the day as year-month-day, such as 2026-11-30.")
    today = timezone.localdate()
    if day > today:
        raise ValueError(f"{day.isoformat()} has not happened yet: choose today or a day before it.")
    if day < today - timedelta(days=phase_selectors.HISTORY_MAX_DAYS):
        raise ValueError(
            f"Figures go back {phase_selectors.HISTORY_MAX_DAYS} days: choose a day after "
            f"{(today - timedelta(days=phase_selectors.HISTORY_MAX_DAYS + 1)).isoformat()}."
        )
    return day


# What each side of a drill-down's split keeps of the rows (a side not here keeps them all).
_SIDES: dict[str, Q] = {
    "answered": Q(answered=True),
    "unanswered": Q(answered=False),
    "on_time": Q(sla_due=True, on_time=True),
    "late": Q(sla_due=True, on_time=False),
    "not_due": Q(sla_due=False),
    "took_part": Q(took_part=True),
    "did_not": Q(took_part=False),
    "certified": Q(certified=True),
    "not_certified": Q(certified=False),
    "satisfied": Q(satisfied=True),
    "not_satisfied": Q(satisfied=False),
    "outside_marketing": ~Q(author_department__kind=DepartmentKind.MARKETING),
    "marketing": Q(author_department__kind=DepartmentKind.MARKETING),
}


def _side_filter(key: str, rows: QuerySet[Any], side: str) -> QuerySet[Any]:
    where = _SIDES.get(side)
    return rows if where is None else rows.filter(where)


def drill_for_user(
    *, user: User, key: str, as_of: date | None = None, department_slug: str = "", side: str = ""
) -> Drill:
    """The rows behind figure ``key``, restricted to what ``user`` may see.

    Executives and admins open every figure. A department's members open their own
    department's figures about queries, answers and insights, never who took part
    (people's names are for executives). 404 for an unknown figure or a department the
    person may not see; 403 for a figure that is not theirs to open.
    """
    if key not in phase_selectors.DRILL_DOWN:
        raise Http404("No such figure")
    department = None
    if department_slug:
        department = phase_selectors.phase_department_get_for_user(user=user, slug=department_slug)
    executive = user.has_role(RoleName.EXECUTIVE)
    if not executive and department is None:
        raise PermissionDenied("The organisation's figures are for executives and administrators.")
    kind = phase_selectors.DRILL_DOWN[key]
    if kind == "people" and not executive:
        raise PermissionDenied("Who took part is for executives and administrators to see.")
    if as_of is None:
        latest = phase_selectors.phase_snapshot_latest(department=department)
        as_of = latest.day if latest is not None else timezone.localdate()
        snapshot = latest
    else:
        snapshot = snapshot_of(day=as_of, department=department)
    figure = None
    window_days = phase_selectors.phase_config_current()["window_days"]
    if snapshot is not None:
        window_days = snapshot.result.get("window_days", window_days)
        figure = next((g for g in gate_views(snapshot.result) if g.key == key), None)
    rows = phase_selectors.metric_rows(key=key, as_of=as_of, window_days=window_days, department=department)
    if kind == "queries" and not sees_all_queries(user):
        rows = rows.filter(pk__in=queries_visible_to(user).values("pk"))
    if kind == "answers":
        rows = rows.select_related("query__department")
        if not sees_all_queries(user):
            rows = rows.filter(pk__in=answers_visible_to(user).values("pk"))
    if kind == "ratings" and not sees_all_queries(user):
        rows = rows.filter(answer__in=answers_visible_to(user).values("pk"))
    if kind == "insight_changes":
        rows = rows.select_related("insight__submitted_by__department")
    sides = SIDES.get(key, [])
    if side and side not in {value for value, _label in sides}:
        if not sides:
            raise ValueError("This figure's rows are not split into sides; open them without choosing one.")
        raise ValueError(
            "Choose which rows to show: " + ", ".join(f"{label.lower()} ({value})" for value, label in sides) + "."
        )
    rows = _side_filter(key, rows, side)
    return Drill(
        key=key,
        label=METRIC_BY_KEY[key].label,
        kind=kind,
        as_of=as_of,
        window_days=window_days,
        department=department,
        figure=figure,
        rows=rows,
        side=side,
        sides=sides,
    )
