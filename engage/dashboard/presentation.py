"""Presentation of the executive dashboard: figures in words, labels, the shapes the charts,
the heat map and the drill-down's cells take.

Pure functions of results (the phase engine's JSON) and of rows already read: no query
here. :mod:`engage.dashboard.selectors` reads and hands its results to these.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Any

from django.urls import get_script_prefix, reverse
from django.utils import timezone
from django.utils.dateformat import format as format_date

from config.activity import ActivityKind
from engage.phase.definitions import HIGHEST_PHASE, METRIC_BY_KEY, METRICS, PHASE_NAMES
from engage.phase.selectors import DRILL_DOWN

if TYPE_CHECKING:
    from engage.models import PhaseSnapshot

TABLE_STEP_DAYS = 7  # the figures under each chart: one row a week
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
        return DRILL_DOWN[self.key]

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


def phase_grid(days: list[date], rows: Iterable[tuple[int, str, str, date, int]]) -> dict[str, Any]:
    """Each department's phase on ``days``, from rows ``(department id, slug, name, day, phase)``."""
    by_department: dict[int, dict[str, Any]] = {}
    for department_id, slug, name, day, phase in rows:
        entry = by_department.setdefault(department_id, {"slug": slug, "name": name, "phases": {}})
        entry["phases"][day] = phase
    # Each day's label formatted once, not once per department (the page has hundreds of cells).
    labels = {day: format_date(day, "j M") for day in days}
    grid = []
    for entry in sorted(by_department.values(), key=lambda e: e["name"]):
        cells = []
        for day in days:
            phase = entry["phases"].get(day)
            name = PHASE_NAMES.get(phase or 0, "")
            cells.append({
                "day": day, "phase": phase, "name": name, "label": labels[day],
                "title": f"{entry['name']}, {labels[day]}: {name or 'no snapshot'}",
            })  # fmt: skip
        grid.append({"slug": entry["slug"], "name": entry["name"], "cells": cells})
    return {"days": days, "day_labels": [labels[day] for day in days], "rows": grid}


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


def phase_card(result: dict[str, Any]) -> dict[str, Any]:
    """A result as the home card shows it: the phase and the first step to the next."""
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
