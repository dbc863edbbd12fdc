"""Reads of the phase engine: configuration, snapshots, rollups. The dashboard reads only these.

Everything here reads snapshots (``PhaseSnapshot``), the rollups (``DailyRollup``,
``PersonDay``) or the configuration, never the raw participation log, so its cost does not
grow with history. Access is decided in one place: :func:`phase_department_get_for_user`.

For the dashboard:

- :func:`phase_organisation_result` — the latest organisation result with ``departments``;
- :func:`phase_department_result` — one department's latest result;
- :func:`phase_history` — one snapshot a day (organisation or one department), oldest first;
- :func:`phase_departments_history` — every department's snapshots over a range (heat maps);
- :func:`participation_counts` — event counts grouped by department, day and/or kind;
- :func:`active_people_by_day` — distinct people taking part per day;
- :func:`phase_config_current`, :func:`phase_config_changes` — configuration and its audit;
- :func:`rollups_lag_seconds` — how far the rollups trail the log.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db.models import BooleanField, Case, Count, Exists, OuterRef, Q, QuerySet, Sum, Value, When
from django.http import Http404
from django.utils import timezone

from accounts.models import Department, RoleName, User
from engage.models import (
    NO_DEPARTMENT_KEY,
    DailyRollup,
    ParticipationEvent,
    PersonDay,
    PhaseConfig,
    PhaseConfigChange,
    PhaseScope,
    PhaseSnapshot,
    RollupProgress,
)
from engage.phase import metrics
from engage.phase.definitions import GATE_KEYS, default_config, default_thresholds
from engage.phase.metrics import day_start

ORGANISATION_KEY = 0
HISTORY_DEFAULT_DAYS = 90
HISTORY_MAX_DAYS = 730
PARTICIPATION_MAX_DAYS = 731
GROUP_KEYS = ("department", "day", "kind")


# --- Configuration -------------------------------------------------------------------------------


def normalise_config(raw: dict[str, Any] | None) -> dict[str, Any]:
    """A whole configuration: defaults for whatever ``raw`` leaves out, unknown gates dropped."""
    config = default_config()
    if not raw:
        return config
    for field in ("window_days", "stability_days"):
        if isinstance(raw.get(field), int):
            config[field] = raw[field]
    thresholds = default_thresholds()
    for key, value in (raw.get("thresholds") or {}).items():
        if key in GATE_KEYS:
            thresholds[key] = value
    config["thresholds"] = thresholds
    return config


def phase_config_current() -> dict[str, Any]:
    """``{"window_days", "stability_days", "thresholds"}`` as configured now."""
    row = PhaseConfig.objects.filter(pk=1).first()
    if row is None:
        return default_config()
    return normalise_config(
        {"window_days": row.window_days, "stability_days": row.stability_days, "thresholds": row.thresholds}
    )


def phase_config_changes() -> QuerySet[PhaseConfigChange]:
    """The audit of configuration changes, newest first, with who made them."""
    return PhaseConfigChange.objects.select_related("changed_by").order_by("-changed_at", "-id")


@dataclass
class ConfigHistory:
    """The configuration in effect at the end of any day, from the audit of its changes."""

    changes: list[PhaseConfigChange]
    current: dict[str, Any]

    @classmethod
    def load(cls) -> ConfigHistory:
        return cls(changes=list(PhaseConfigChange.objects.order_by("changed_at", "id")), current=phase_config_current())

    def at(self, day: date) -> dict[str, Any]:
        end = day_start(day + timedelta(days=1))
        before = [change for change in self.changes if change.changed_at < end]
        if before:
            return normalise_config(before[-1].after)
        if self.changes:
            return normalise_config(self.changes[0].before)
        return self.current


def phase_config_at(*, day: date) -> dict[str, Any]:
    return ConfigHistory.load().at(day)


# --- Snapshots -----------------------------------------------------------------------------------


def phase_department_get_for_user(*, user: User, slug: str) -> Department:
    """The department ``slug`` if ``user`` may see its phase (executives, admins, its members), else 404."""
    department = Department.objects.filter(slug=slug).first()
    if department is None:
        raise Http404("No such department")
    if user.has_role(RoleName.EXECUTIVE) or user.department_id == department.pk:
        return department
    raise Http404("No such department")


def phase_snapshot_latest(*, department: Department | None = None) -> PhaseSnapshot | None:
    key = department.pk if department is not None else ORGANISATION_KEY
    return PhaseSnapshot.objects.filter(scope_key=key).order_by("-day").first()


def phase_snapshots_of_day(*, day: date) -> QuerySet[PhaseSnapshot]:
    """Every department's snapshot of ``day``, by department name."""
    return (
        PhaseSnapshot.objects.filter(day=day, scope=PhaseScope.DEPARTMENT)
        .select_related("department")
        .order_by("department__name", "scope_key")
    )


def phase_organisation_result(*, snapshot: PhaseSnapshot | None = None) -> dict[str, Any] | None:
    """The latest organisation result, with ``departments`` (two queries), or None if none exists."""
    snapshot = snapshot or phase_snapshot_latest()
    if snapshot is None:
        return None
    result = dict(snapshot.result)
    result["departments"] = [row.result for row in phase_snapshots_of_day(day=snapshot.day)]
    return result


def phase_department_result(*, department: Department) -> dict[str, Any] | None:
    snapshot = phase_snapshot_latest(department=department)
    return dict(snapshot.result) if snapshot is not None else None


def history_days(value: Any, *, default: int = HISTORY_DEFAULT_DAYS, maximum: int = HISTORY_MAX_DAYS) -> int:
    """``days`` as asked for (a whole number 1…maximum), or ValueError naming the limit."""
    if value in (None, ""):
        return default
    try:
        days = int(value)
    except (TypeError, ValueError):
        raise ValueError("days must be a whole number") from None
    if not 1 <= days <= maximum:
        raise ValueError(f"days must be between 1 and {maximum}")
    return days


def phase_history(
    *, days: int = HISTORY_DEFAULT_DAYS, department: Department | None = None, today: date | None = None
) -> QuerySet[PhaseSnapshot]:
    """One snapshot a day for the last ``days`` days (today included), oldest first."""
    today = today or timezone.localdate()
    key = department.pk if department is not None else ORGANISATION_KEY
    return PhaseSnapshot.objects.filter(scope_key=key, day__gt=today - timedelta(days=days), day__lte=today).order_by(
        "day"
    )


def phase_departments_history(
    *, days: int = HISTORY_DEFAULT_DAYS, today: date | None = None
) -> QuerySet[PhaseSnapshot]:
    """Every department's snapshots over the last ``days`` days, oldest first (heat maps, timelines)."""
    today = today or timezone.localdate()
    return (
        PhaseSnapshot.objects.filter(scope=PhaseScope.DEPARTMENT, day__gt=today - timedelta(days=days), day__lte=today)
        .select_related("department")
        .order_by("day", "department__name", "scope_key")
    )


# --- Rollups ---------------------------------------------------------------------------------------


def parse_group_by(value: Any) -> tuple[str, ...]:
    """``department,day,kind`` in any order and combination; ValueError for anything else."""
    if value in (None, ""):
        return ()
    parts = [part.strip() for part in str(value).split(",") if part.strip()]
    unknown = [part for part in parts if part not in GROUP_KEYS]
    if unknown:
        raise ValueError(f"group_by may name only {', '.join(GROUP_KEYS)}; not {', '.join(unknown)}")
    return tuple(dict.fromkeys(parts))


def participation_counts(*, first: date, last: date, group_by: Iterable[str] = ()) -> list[dict[str, Any]]:
    """Events of the log in ``first … last`` (days, inclusive), from the daily rollups.

    One query. Rows carry the asked-for keys (``department`` as a slug, None for events
    without one; ``day`` as ``YYYY-MM-DD``; ``kind``) and ``events``, ordered by those keys.
    """
    groups = tuple(group_by)
    columns = [{"department": "department_key", "day": "day", "kind": "kind"}[g] for g in groups]
    rows = DailyRollup.objects.filter(day__gte=first, day__lte=last).order_by()
    if columns:
        rows = rows.values(*columns).annotate(events=Sum("count")).order_by(*columns)
        data = list(rows)
    else:
        data = [{"events": rows.aggregate(events=Sum("count"))["events"] or 0}]
    slugs: dict[int, str] = {}
    if "department" in groups:
        keys = {row["department_key"] for row in data if row["department_key"] != NO_DEPARTMENT_KEY}
        slugs = dict(Department.objects.filter(pk__in=keys).values_list("pk", "slug"))
    results = []
    for row in data:
        item: dict[str, Any] = {}
        for group in groups:
            if group == "department":
                key = row["department_key"]
                item["department"] = None if key == NO_DEPARTMENT_KEY else slugs.get(key)
            elif group == "day":
                item["day"] = row["day"].isoformat()
            else:
                item["kind"] = row["kind"]
        item["events"] = int(row["events"] or 0)
        results.append(item)
    return results


def active_people_by_day(*, first: date, last: date, department: Department | None = None) -> list[dict[str, Any]]:
    """Distinct people who took part on each day (department: at the time), from the rollups."""
    rows = PersonDay.objects.filter(day__gte=first, day__lte=last)
    if department is not None:
        rows = rows.filter(department=department)
    return [
        {"day": row["day"].isoformat(), "people": row["people"]}
        for row in rows.order_by().values("day").annotate(people=Count("person_id")).order_by("day")
    ]


def rollups_lag_seconds() -> float:
    """Age of the oldest event not yet in the rollups (0 when they are up to date), from where
    the rollup job scans (no index mentions ``folded_at``: see engage.phase.rollups)."""
    scan_from = RollupProgress.objects.filter(pk=1).values_list("scan_from", flat=True).first() or 0
    oldest = (
        ParticipationEvent.objects.filter(id__gt=scan_from, folded_at__isnull=True)
        .order_by("id")
        .values("recorded_at")
        .first()
    )
    if oldest is None:
        return 0.0
    return max(0.0, (timezone.now() - oldest["recorded_at"]).total_seconds())


# --- Drill-down: the rows behind a figure --------------------------------------------------------------

DRILL_DOWN = {
    "response_rate": "queries",
    "sla_attainment": "queries",
    "two_way_ratio": "answers",
    "answering_departments": "answers",
    "customer_facing_coverage": "answers",
    "non_marketing_answer_share": "answers",
    "contribution_evenness": "answers",
    "active_employee_ratio": "people",
    "department_coverage": "people",
    "certified_ratio": "people",
    "insights_adopted": "insight_changes",
    "customer_satisfaction": "ratings",
}


def _flag(condition: Q) -> Case:
    """True or False (never NULL, as a bare comparison with a NULL column would be)."""
    return Case(When(condition, then=Value(True)), default=Value(False), output_field=BooleanField())


def metric_rows(*, key: str, as_of: date, window_days: int, department: Department | None = None) -> QuerySet[Any]:
    """The rows behind a metric's figure, with the same rules as the engine (one definition).

    Unlike everything else here this reads the timestamped facts (bounded by the window):
    it serves the drill-down, not the dashboard's figures. Each row carries flags saying
    on which side of the ratio it falls:

    - queries (``response_rate``, ``sla_attainment``): ``answered`` (by the end of
      ``as_of``), ``sla_due`` and ``on_time``; the denominator of ``sla_attainment`` is the
      rows with ``sla_due``;
    - answers (``two_way_ratio`` and the answer-based metrics): answers published in the
      window, with author, department and query; messages published are in the rollups;
    - people (``active_employee_ratio``, ``department_coverage``, ``certified_ratio``):
      people active at ``as_of`` with ``took_part`` and ``certified`` (for
      ``certified_ratio`` only people of customer-facing departments);
    - insight changes (``insights_adopted``): the status changes that adopted them.

    ``department`` restricts as the department results do. The caller applies what the
    person may see (``engage.selectors.queries_visible_to`` for queries). KeyError for an
    unknown key.
    """
    kind = DRILL_DOWN[key]
    window = metrics.Window(as_of=as_of, days=window_days)
    if kind == "queries":
        queries = (
            metrics.queries_counted(window)
            .select_related("channel", "department")
            .annotate(
                answered=_flag(metrics.query_answered(window)),
                sla_due=_flag(metrics.query_sla_due(window)),
                on_time=_flag(metrics.query_sla_met(window)),
            )
        )
        if department is not None:
            queries = queries.filter(department=department)
        return queries.order_by("received_at", "id")
    if kind == "answers":
        answers = metrics.answers_published(window).select_related("author", "author_department", "query")
        if department is not None:
            answers = answers.filter(author_department=department)
        return answers.order_by("published_at", "id")
    if kind == "people":
        took_part = PersonDay.objects.filter(person_id=OuterRef("pk"), day__gte=window.first_day, day__lte=window.as_of)
        certified = metrics.responder_certifications(window).filter(user_id=OuterRef("pk"))
        people = (
            metrics.people_active_at(window)
            .select_related("department")
            .annotate(took_part=Exists(took_part), certified=Exists(certified))
        )
        if key == "certified_ratio" and department is None:
            people = people.filter(department__customer_facing=True)
        if department is not None:
            people = people.filter(department=department)
        return people.order_by("department__name", "name", "id")
    if kind == "ratings":
        rated = metrics.ratings_counted(window).select_related(
            "answer__author", "answer__author_department", "answer__query__department"
        )
        if department is not None:
            rated = rated.filter(answer__author_department=department)
        return rated.annotate(satisfied=_flag(metrics.rating_satisfied())).order_by("created_at", "id")
    changes = metrics.insight_adoptions(window).select_related("insight", "insight__submitted_by")
    if department is not None:
        changes = changes.filter(insight__submitted_by__department=department)
    return changes.order_by("changed_at", "id")
