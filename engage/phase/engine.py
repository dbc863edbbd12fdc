"""One day's results for the organisation and every department, before and after stability.

:func:`compute_day` reads the day's facts (a handful of grouped queries) and evaluates the
gates for every scope; :func:`finish` applies the stability rule given the scope's recent
snapshots and fills in the reported phase and ``next_phase``. Writing snapshots is
:mod:`engage.phase.services`' business.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from engage.models import PhaseScope
from engage.phase.definitions import BACKFILL_NOTE, phase_name
from engage.phase.gates import Scope, evaluate, next_phase, raw_phase, stabilise, stability_summary
from engage.phase.metrics import DayFacts, DepartmentInfo, day_facts, department_measures, organisation_measures

ORGANISATION_KEY = 0


@dataclass
class ScopeResult:
    """A scope's result for one day; ``result`` becomes the snapshot's JSON."""

    scope_key: int  # 0 for the organisation, else the department id
    department: DepartmentInfo | None
    raw_phase: int
    result: dict[str, Any]

    @property
    def scope(self) -> str:
        return PhaseScope.DEPARTMENT if self.department else PhaseScope.ORGANISATION


def _result(*, facts: DayFacts, config: dict[str, Any], department: DepartmentInfo | None) -> ScopeResult:
    scope = Scope(department=department, window_days=config["window_days"])
    measures = department_measures(facts, department) if department else organisation_measures(facts)
    gates, metrics = evaluate(measures=measures, thresholds=config["thresholds"], scope=scope)
    raw = raw_phase(gates)
    result: dict[str, Any] = {
        "scope": PhaseScope.DEPARTMENT if department else PhaseScope.ORGANISATION,
        "department": department.as_dict() if department else None,
        "as_of": facts.window.as_of.isoformat(),
        "window_days": config["window_days"],
        "stability_days": config["stability_days"],
        "thresholds": dict(config["thresholds"]),
        "raw_phase": raw,
        "raw_name": phase_name(raw),
        "gates": gates,
        "metrics": metrics,
        "notes": [],
    }
    return ScopeResult(
        scope_key=department.id if department else ORGANISATION_KEY, department=department, raw_phase=raw, result=result
    )


def compute_day(*, as_of: date, config: dict[str, Any]) -> list[ScopeResult]:
    """The organisation's result first, then each department's (raw phase only, no stability yet)."""
    facts = day_facts(as_of=as_of, window_days=config["window_days"])
    results = [_result(facts=facts, config=config, department=None)]
    results.extend(_result(facts=facts, config=config, department=d) for d in facts.departments)
    return results


def finish(
    item: ScopeResult,
    *,
    previous: int | None,
    earlier_raw: list[int],
    computed_at: datetime,
    backfilled: bool,
) -> dict[str, Any]:
    """Apply the stability rule and complete the result.

    ``previous`` is the reported phase of the day before (None for a first snapshot);
    ``earlier_raw`` the raw phases of the S - 1 days before, those that exist, oldest first.
    """
    result = item.result
    stability_days = result["stability_days"]
    recent = [*earlier_raw, item.raw_phase]
    phase, rule = stabilise(previous=previous, recent_raw=recent)
    scope = Scope(department=item.department, window_days=result["window_days"])
    result.update(
        {
            "phase": phase,
            "name": phase_name(phase),
            "stability": {
                "previous_phase": previous,
                "recent_raw_phases": recent,
                "rule": rule,
                "summary": stability_summary(
                    phase=phase, raw=item.raw_phase, recent_raw=recent, stability_days=stability_days, rule=rule
                ),
            },
            "next_phase": next_phase(
                phase=phase, raw=item.raw_phase, gates=result["gates"], scope=scope, stability_days=stability_days
            ),
            "computed_at": computed_at.isoformat(),
            "backfilled": backfilled,
        }
    )
    if backfilled and BACKFILL_NOTE not in result["notes"]:
        result["notes"].append(BACKFILL_NOTE)
    return result
