"""Reads of the executive dashboard: the phase with its reasons, gate progress, history,
the department heat map, contribution evenness, participation, and the drill-down.

Everything but the drill-down reads snapshots (``PhaseSnapshot``) and rollups through
:mod:`engage.phase.selectors`, a fixed number of queries whatever the size of the log.
The drill-down opens the rows behind one figure (:func:`engage.phase.selectors.metric_rows`,
the engine's own definitions) and applies here, in one place, what the person may see.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from functools import cached_property, lru_cache
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404
from django.urls import get_script_prefix, reverse
from django.utils import timezone
from django.utils.dateformat import format as format_date
from django.utils.dateparse import parse_date

from accounts.models import Department, DepartmentKind, RoleName, User
from config.activity import ActivityKind
from engage.dashboard.follow_ups import follow_up_report
from engage.models import PhaseSnapshot
from engage.phase import selectors as phase_selectors
from engage.phase.definitions import HIGHEST_PHASE, METRIC_BY_KEY, METRICS, PHASE_NAMES
from engage.selectors import answers_visible_to, queries_visible_to, sees_all_queries

HISTORY_CHOICES = (30, 90, 180, 365)
HISTORY_DEFAULT = 180
TABLE_STEP_DAYS = 7  # the figures under each chart: one row a week
ORGANISATION_KEY = 0
MINUS = "\N{MINUS SIGN}"  # a falling figure, as typeset

# Columns of the department heat map: the metrics that can apply to a single department.
HEAT_KEYS = tuple(m.key for m in METRICS if m.department != "never")

KIND_LABELS = {
    ActivityKind.MESSAGE_PUBLISHED: "Messages published",
    ActivityKind.MESSAGE_SHARED: "Messages shared",
    ActivityKind.SHARE_LINK_CLICKED: "Share links clicked (visitors)",
    ActivityKind.TOOLKIT_ITEM_USED: "Toolkit items used",
    ActivityKind.QUERY_RECEIVED: "Queries received",
    ActivityKind.QUERY_ROUTED: "Queries routed",
    ActivityKind.QUERY_ESCALATED: "Queries escalated",
    ActivityKind.QUERY_CLAIMED: "Queries claimed",
    ActivityKind.ANSWER_PUBLISHED: "Answers published",
    ActivityKind.ANSWER_REVIEWED: "Answers reviewed",
    ActivityKind.COURSE_COMPLETED: "Courses completed",
    ActivityKind.CERTIFICATION_EARNED: "Certifications earned",
    ActivityKind.CERTIFICATION_EXPIRED: "Certifications expired",
    ActivityKind.INSIGHT_SUBMITTED: "Insights submitted",
    ActivityKind.INSIGHT_STATUS_CHANGED: "Insights moved",
}


# --- Figures in words -------------------------------------------------------------------------------


def value_kind(key: str) -> str:
    """``ratio`` (shown as a percentage), ``count`` or ``score`` (evenness, 0 to 1)."""
    if key == "contribution_evenness":
        return "score"
    return "count" if METRIC_BY_KEY[key].integer else "ratio"


def format_value(key: str, value: float | int | None) -> str:
    if value is None:
        return "—"
    kind = value_kind(key)
    if kind == "ratio":
        return f"{round(float(value) * 100)}%"
    if kind == "score":
        return f"{float(value):.2f}"
    return str(int(value))


@dataclass(frozen=True)
class GateView:
    """One gate (or reported metric) of a result, with what the page says about it."""

    key: str
    label: str
    phase: int | None
    value: float | None
    numerator: float | None
    denominator: float | None
    threshold: float | None
    met: bool | None
    applicable: bool
    summary: str
    distance: str = ""
    departments: list[dict[str, Any]] = field(default_factory=list)
    # The same figure at the end of the previous period, for the change beside it.
    before: GateView | None = None

    @classmethod
    def from_entry(cls, entry: dict[str, Any]) -> GateView:
        return cls(
            key=entry["key"],
            label=entry.get("label") or METRIC_BY_KEY[entry["key"]].label,
            phase=entry.get("phase"),
            value=entry.get("value"),
            numerator=entry.get("numerator"),
            denominator=entry.get("denominator"),
            threshold=entry.get("threshold"),
            met=entry.get("met"),
            applicable=bool(entry.get("applicable")),
            summary=entry.get("summary") or "",
            distance=entry.get("distance") or "",
            departments=list(entry.get("departments") or []),
        )

    @property
    def kind(self) -> str:
        return value_kind(self.key)

    @property
    def phase_name(self) -> str:
        return PHASE_NAMES.get(self.phase or 0, "")

    @cached_property
    def value_text(self) -> str:
        return format_value(self.key, self.value) if self.applicable else "n/a"

    @cached_property
    def threshold_text(self) -> str:
        return format_value(self.key, self.threshold) if self.threshold is not None else ""

    @cached_property
    def status(self) -> str:
        """``met``, ``unmet``, ``undefined`` (no denominator: never met), ``na`` or ``reported``."""
        if not self.applicable:
            return "na"
        if self.threshold is None:
            return "reported" if self.value is not None else "undefined"
        if self.value is None:
            return "undefined"
        return "met" if self.met else "unmet"

    @cached_property
    def status_text(self) -> str:
        return {
            "met": "Met",
            "unmet": "Not met",
            "undefined": "Cannot be measured yet",
            "na": "Not applicable",
            "reported": "Reported",
        }[self.status]

    @cached_property
    def progress_percent(self) -> int:
        """How far the value is towards the threshold, 0 to 100 (100 when met)."""
        if self.value is None or not self.applicable:
            return 0
        if self.threshold is None:
            return round(min(1.0, max(0.0, float(self.value))) * 100)
        if self.threshold <= 0:
            return 100
        return round(min(1.0, max(0.0, float(self.value) / float(self.threshold))) * 100)

    @property
    def fraction_text(self) -> str:
        """``104 of 294`` for a ratio; empty for a count or a score."""
        if not self.applicable or self.kind != "ratio" or self.denominator is None:
            return ""
        return f"{_whole(self.numerator)} of {_whole(self.denominator)}"

    @cached_property
    def heat_bucket(self) -> str:
        """A class for the heat map: ``met``, ``b0`` to ``b3`` (share of the threshold), ``none``, ``na``."""
        status = self.status
        if status in ("met", "na"):
            return status
        if status == "undefined":
            return "none"
        step = min(3, self.progress_percent // 25)
        return f"b{step}"

    @property
    def drill_path(self) -> str:
        """The drill-down page of this figure (``{% url 'dashboard:drill' key %}``)."""
        return _drill_path(get_script_prefix(), self.key)

    @property
    def drill_kind(self) -> str:
        return phase_selectors.DRILL_DOWN[self.key]

    @property
    def delta(self) -> float | None:
        """This figure less the previous period's (None when either cannot be measured)."""
        before = self.before
        if before is None or self.value is None or before.value is None or not self.applicable:
            return None
        if not before.applicable:
            return None
        return float(self.value) - float(before.value)

    @property
    def delta_direction(self) -> str:
        delta = self.delta
        if delta is None or self.delta_text in ("no change", ""):
            return "same"
        return "up" if delta > 0 else "down"

    @property
    def delta_text(self) -> str:
        """``+3 points`` for a ratio, ``+12`` for a count, ``+0.05`` for a score; ``no change``."""
        delta = self.delta
        if delta is None:
            return ""
        if self.kind == "ratio":
            points = round(delta * 100)
            if points == 0:
                return "no change"
            return f"{points:+d} point{'' if abs(points) == 1 else 's'}".replace("-", MINUS)
        if self.kind == "score":
            return "no change" if abs(delta) < 0.005 else f"{delta:+.2f}".replace("-", MINUS)
        whole = round(delta)
        return "no change" if whole == 0 else f"{whole:+d}".replace("-", MINUS)


def with_previous(gates: list[GateView], previous: dict[str, Any] | None) -> list[GateView]:
    """``gates`` with the previous period's figure of each (``before``), for the deltas beside them."""
    if previous is None:
        return gates
    before = {g.key: g for g in gate_views(previous)}
    return [replace(g, before=before.get(g.key)) for g in gates]


def _whole(value: float | None) -> str:
    if value is None:
        return "0"
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def gate_views(result: dict[str, Any]) -> list[GateView]:
    """Every metric of a result, in the order of PHASE-MODEL.md (gates, then reported metrics)."""
    entries = {e["key"]: e for e in [*result.get("gates", []), *result.get("metrics", [])]}
    return [GateView.from_entry(entries[m.key]) for m in METRICS if m.key in entries]


def reason_views(result: dict[str, Any]) -> list[GateView]:
    """The gates of the reported phase and those below it: why the phase is what it is."""
    phase = result["phase"]
    return [g for g in gate_views(result) if g.phase is not None and g.phase <= phase and g.applicable]


def next_gate_views(result: dict[str, Any]) -> list[GateView]:
    """Every gate the next phase needs: all of its own, and any of a lower phase not met today."""
    phase = result["phase"]
    if phase >= HIGHEST_PHASE:
        return []
    target = phase + 1
    return [
        g
        for g in gate_views(result)
        if g.phase is not None and g.applicable and (g.phase == target or (g.phase < target and not g.met))
    ]


def ladder(phase: int) -> list[dict[str, Any]]:
    """The four phases as steps: ``reached``, ``now``, ``next`` or ``ahead``."""
    steps = []
    for step, name in PHASE_NAMES.items():
        if step < phase:
            state, text = "reached", "Reached"
        elif step == phase:
            state, text = "now", "Now"
        elif step == phase + 1:
            state, text = "next", "Next"
        else:
            state, text = "ahead", "Ahead"
        steps.append({"phase": step, "name": name, "state": state, "state_text": text})
    return steps


# --- History -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PhasePeriod:
    phase: int
    name: str
    first: date
    last: date

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


def phase_periods(days_and_phases: list[tuple[date, int]]) -> list[PhasePeriod]:
    """Runs of the same reported phase, oldest first."""
    periods: list[PhasePeriod] = []
    for day, phase in days_and_phases:
        if periods and periods[-1].phase == phase and periods[-1].last + timedelta(days=1) >= day:
            last = periods[-1]
            periods[-1] = PhasePeriod(phase=phase, name=last.name, first=last.first, last=day)
        else:
            periods.append(PhasePeriod(phase=phase, name=PHASE_NAMES[phase], first=day, last=day))
    return periods


def history_chart(snapshots: list[PhaseSnapshot]) -> dict[str, Any]:
    """The JSON the timeline and the metric charts draw (handed to the page with json_script)."""
    days = [s.day.isoformat() for s in snapshots]
    series: dict[str, dict[str, Any]] = {}
    for metric in METRICS:
        series[metric.key] = {
            "key": metric.key,
            "label": metric.label,
            "kind": value_kind(metric.key),
            "phase": metric.phase,
            "values": [],
            "thresholds": [],
        }
    for snapshot in snapshots:
        entries = {e["key"]: e for e in [*snapshot.result.get("gates", []), *snapshot.result.get("metrics", [])]}
        for key, line in series.items():
            entry = entries.get(key) or {}
            applies = bool(entry.get("applicable"))
            line["values"].append(entry.get("value") if applies else None)
            line["thresholds"].append(entry.get("threshold"))
    metrics = [line for line in series.values() if any(v is not None for v in line["values"])]
    return {
        "days": days,
        "phase": [s.phase for s in snapshots],
        "raw": [s.raw_phase for s in snapshots],
        "names": {str(k): v for k, v in PHASE_NAMES.items()},
        "metrics": metrics,
    }


def metric_cards(chart: dict[str, Any], result: dict[str, Any]) -> list[GateView]:
    """The latest figure of each metric the charts draw, in the charts' order."""
    views = {g.key: g for g in gate_views(result)}
    return [views[line["key"]] for line in chart["metrics"] if line["key"] in views]


def history_table(chart: dict[str, Any], *, step: int = TABLE_STEP_DAYS) -> list[dict[str, Any]]:
    """The figures under the charts: the latest day and one a week before it, oldest first."""
    count = len(chart["days"])
    indexes = sorted(range(count - 1, -1, -step))
    rows = []
    for i in indexes:
        rows.append(
            {
                "day": date.fromisoformat(chart["days"][i]),
                "phase": PHASE_NAMES[chart["phase"][i]],
                "raw": PHASE_NAMES[chart["raw"][i]],
                "values": [format_value(line["key"], line["values"][i]) for line in chart["metrics"]],
            }
        )
    return rows


# --- Departments -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HeatRow:
    slug: str
    name: str
    customer_facing: bool
    phase: int
    name_of_phase: str
    raw_phase: int
    cells: list[GateView]
    answers: int  # answers published in the window (for contribution evenness)


@lru_cache(maxsize=64)
def _drill_path(prefix: str, key: str) -> str:
    """Reversed once per figure (and script prefix), not once per cell of the heat map."""
    return reverse("dashboard:drill", args=[key])


def heat_rows(results: list[dict[str, Any]]) -> list[HeatRow]:
    rows = []
    for result in results:
        views = {g.key: g for g in gate_views(result)}
        department = result.get("department") or {}
        two_way = views.get("two_way_ratio")
        rows.append(
            HeatRow(
                slug=department.get("slug", ""),
                name=department.get("name", ""),
                customer_facing=bool(department.get("customer_facing")),
                phase=result["phase"],
                name_of_phase=result["name"],
                raw_phase=result["raw_phase"],
                cells=[views[key] for key in HEAT_KEYS if key in views],
                answers=int(two_way.numerator or 0) if two_way else 0,
            )
        )
    return rows


def heat_columns() -> list[dict[str, str]]:
    return [{"key": key, "label": METRIC_BY_KEY[key].label} for key in HEAT_KEYS]


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
    by_department: dict[int, dict[str, Any]] = {}
    for department_id, slug, name, day, phase in rows:
        entry = by_department.setdefault(department_id, {"slug": slug, "name": name, "phases": {}})
        entry["phases"][day] = phase
    # Each day's label formatted once, not once per department (the page has hundreds of cells).
    labels = {day: format_date(day, "j M") for day in wanted}
    grid = []
    for entry in sorted(by_department.values(), key=lambda e: e["name"]):
        cells = []
        for day in wanted:
            phase = entry["phases"].get(day)
            name = PHASE_NAMES.get(phase or 0, "")
            cells.append({
                "day": day, "phase": phase, "name": name, "label": labels[day],
                "title": f"{entry['name']}, {labels[day]}: {name or 'no snapshot'}",
            })  # fmt: skip
        grid.append({"slug": entry["slug"], "name": entry["name"], "cells": cells})
    return {"days": wanted, "day_labels": [labels[day] for day in wanted], "rows": grid}


# --- What changed --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    text: str
    direction: str  # "up", "down" or "same"


def _delta_text(gate: GateView, before: GateView) -> tuple[str, float] | None:
    if gate.value is None or before.value is None or not gate.applicable or not before.applicable:
        return None
    delta = float(gate.value) - float(before.value)
    if gate.kind == "ratio":
        points = round(delta * 100)
        if abs(points) < 1:
            return None
        unit = "point" if abs(points) == 1 else "points"
        return f"{gate.label}: {before.value_text} → {gate.value_text} ({points:+d} {unit})", delta
    if gate.kind == "count":
        if delta == 0:
            return None
        return f"{gate.label}: {before.value_text} → {gate.value_text}", delta
    if abs(delta) < 0.01:
        return None
    return f"{gate.label}: {before.value_text} → {gate.value_text}", delta


def week_changes(now: dict[str, Any], before: dict[str, Any] | None, *, limit: int = 6) -> list[Change]:
    """What moved between two results (a week apart): the phase, gates met or lost, big movers."""
    if before is None:
        return [Change(f"No snapshot from a week before {now['as_of']} to compare with.", "same")]
    changes: list[Change] = []
    if now["phase"] > before["phase"]:
        changes.append(Change(f"The phase rose from {before['name']} to {now['name']}.", "up"))
    elif now["phase"] < before["phase"]:
        changes.append(Change(f"The phase fell from {before['name']} to {now['name']}.", "down"))
    else:
        changes.append(Change(f"The phase stayed {now['name']}.", "same"))
    previous = {g.key: g for g in gate_views(before)}
    movers: list[tuple[float, Change]] = []
    for gate in gate_views(now):
        old = previous.get(gate.key)
        if old is None:
            continue
        if gate.threshold is not None and gate.applicable and old.applicable and bool(gate.met) != bool(old.met):
            if gate.met:
                changes.append(
                    Change(f"{gate.label} is now met ({gate.value_text}; needs {gate.threshold_text}).", "up")
                )
            else:
                changes.append(
                    Change(f"{gate.label} is no longer met ({gate.value_text}; needs {gate.threshold_text}).", "down")
                )
            continue
        moved = _delta_text(gate, old)
        if moved is not None:
            text, delta = moved
            movers.append((abs(delta), Change(text, "up" if delta > 0 else "down")))
    movers.sort(key=lambda item: -item[0])
    changes.extend(change for _size, change in movers[: max(0, limit - len(changes))])
    return changes


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


def dashboard_overview(*, days: int = HISTORY_DEFAULT, as_of: date | None = None) -> dict[str, Any] | None:
    """Everything the organisation's dashboard shows on ``as_of`` (the latest snapshot on or
    before it; the latest of all by default), with the previous period's figures beside
    (None before the first snapshot)."""
    snapshot = snapshot_for(as_of=as_of)
    if snapshot is None:
        return None
    result = snapshot.result
    comparison = _comparison(snapshot, as_of, None)
    previous = comparison["previous"]
    departments = [row.result for row in phase_selectors.phase_snapshots_of_day(day=snapshot.day)]
    history = list(phase_selectors.phase_history(days=days, today=snapshot.day))
    chart = history_chart(history)
    week_before = next((s for s in history if s.day == snapshot.day - timedelta(days=7)), None)
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
        "changes": week_changes(result, week_before.result if week_before else None),
        "participation": participation,
        "follow_ups": follow_up_report(as_of=snapshot.day, window_days=result["window_days"]),
        "days": days,
        "day_choices": HISTORY_CHOICES,
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
    previous = comparison["previous"]
    history = list(phase_selectors.phase_history(days=days, department=department, today=snapshot.day))
    chart = history_chart(history)
    week_before = next((s for s in history if s.day == snapshot.day - timedelta(days=7)), None)
    first = history[0].day if history else snapshot.day
    return {
        **comparison,
        "result": result,
        "department": department,
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
        "participation": _participation(
            as_of=snapshot.day, window_days=result["window_days"], first=first, department=department
        ),
        "follow_ups": follow_up_report(as_of=snapshot.day, window_days=result["window_days"], department=department),
        "days": days,
        "day_choices": HISTORY_CHOICES,
    }


def home_card_data(*, user: User) -> dict[str, Any]:
    """The home card: the person's department's phase; for executives, the organisation's too."""
    data: dict[str, Any] = {"department": None, "organisation": None}
    if user.has_role(RoleName.EXECUTIVE):
        latest = phase_selectors.phase_snapshot_latest()
        if latest is not None:
            data["organisation"] = _card_result(latest.result)
    if user.department_id is not None:
        department = Department.objects.filter(pk=user.department_id).first()
        if department is not None:
            result = phase_selectors.phase_department_result(department=department)
            data["department"] = {"slug": department.slug, "name": department.name}
            if result is not None:
                data["department"].update(_card_result(result))
    return data


def _card_result(result: dict[str, Any]) -> dict[str, Any]:
    next_phase = result.get("next_phase") or {}
    unmet = next_phase.get("unmet") or []
    return {
        "phase": result["phase"],
        "phase_name": result["name"],
        "as_of": date.fromisoformat(result["as_of"]),
        "next_name": next_phase.get("name"),
        "next_summary": next_phase.get("summary"),
        "next_reachable": next_phase.get("reachable", True),
        "first_unmet": unmet[0]["distance"] if unmet else "",
    }


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


def _side_filter(key: str, rows: QuerySet[Any], side: str) -> QuerySet[Any]:
    if side == "answered":
        return rows.filter(answered=True)
    if side == "unanswered":
        return rows.filter(answered=False)
    if side == "on_time":
        return rows.filter(sla_due=True, on_time=True)
    if side == "late":
        return rows.filter(sla_due=True, on_time=False)
    if side == "not_due":
        return rows.filter(sla_due=False)
    if side == "took_part":
        return rows.filter(took_part=True)
    if side == "did_not":
        return rows.filter(took_part=False)
    if side == "certified":
        return rows.filter(certified=True)
    if side == "not_certified":
        return rows.filter(certified=False)
    if side == "satisfied":
        return rows.filter(satisfied=True)
    if side == "not_satisfied":
        return rows.filter(satisfied=False)
    if side == "outside_marketing":
        return rows.exclude(author_department__kind=DepartmentKind.MARKETING)
    if side == "marketing":
        return rows.filter(author_department__kind=DepartmentKind.MARKETING)
    return rows


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


def _when(value: datetime | None) -> str:
    if value is None:
        return ""
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def drill_header(kind: str) -> list[str]:
    return {
        "queries": [
            "Received",
            "Query",
            "Channel",
            "Department",
            "Priority",
            "Answered by the end of the day",
            "Answered at",
            "Response target",
            "Within target",
        ],
        "answers": ["Published", "Author", "Author's department", "Query", "Query's department"],
        "people": ["Name", "Department", "Took part in the window", "Holds a responder certification"],
        "insight_changes": ["Moved", "Insight", "To", "Submitted by", "Submitter's department"],
        "ratings": ["Rated", "Score", "Comment", "Answer by", "Author's department", "Query"],
    }[kind]


def drill_cells(kind: str, row: Any, *, full_text: bool = False) -> list[dict[str, str]]:
    """One row as cells ``{"text", "url"}``: the page and the CSV read the same cells."""

    def cell(text: Any, url: str = "") -> dict[str, str]:
        return {"text": "" if text is None else str(text), "url": url}

    def clip(text: str, limit: int = 90) -> str:
        return text if full_text or len(text) <= limit else text[: limit - 1] + "…"

    if kind == "queries":
        due = "not due yet" if not row.sla_due else _yes(row.on_time)
        return [
            cell(_when(row.received_at)),
            cell(clip(row.text), reverse("engage:query_detail", args=[row.pk])),
            cell(row.channel.name),
            cell(row.department.name if row.department else "Not routed"),
            cell(row.get_priority_display()),
            cell(_yes(row.answered)),
            cell(_when(row.answered_at) if row.answered else ""),
            cell(_when(row.sla_due_at)),
            cell(due),
        ]
    if kind == "answers":
        query = row.query
        return [
            cell(_when(row.published_at)),
            cell(str(row.author)),
            cell(row.author_department.name if row.author_department else ""),
            cell(clip(query.text), reverse("engage:query_detail", args=[query.pk])),
            cell(query.department.name if query.department else "Not routed"),
        ]
    if kind == "people":
        return [
            cell(str(row)),
            cell(row.department.name if row.department else ""),
            cell(_yes(row.took_part)),
            cell(_yes(row.certified)),
        ]
    if kind == "ratings":
        answer = row.answer
        return [
            cell(_when(row.created_at)),
            cell(f"{row.score} of 5"),
            cell(clip(row.comment)),
            cell(str(answer.author)),
            cell(answer.author_department.name if answer.author_department else ""),
            cell(clip(answer.query.text), reverse("engage:query_detail", args=[answer.query_id])),
        ]
    insight = row.insight
    submitter = insight.submitted_by
    return [
        cell(_when(row.changed_at)),
        cell(clip(insight.title), reverse("engage:insight_detail", args=[insight.pk])),
        cell(row.get_to_status_display()),
        cell(str(submitter) if submitter else ""),
        cell(submitter.department.name if submitter and submitter.department else ""),
    ]
