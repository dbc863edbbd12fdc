"""Gates, the raw phase, the stability rule, and the words that say what is missing.

Pure functions over :mod:`engage.phase.metrics` measures: no database access, so every
rule here is tested on hand-built figures.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from engage.phase.definitions import (
    ACTIVE_SHARE_FOR_COVERED_DEPARTMENT,
    ANSWERS_FOR_ANSWERING_DEPARTMENT,
    HIGHEST_PHASE,
    INSIGHT_ADOPTION_DAYS,
    LOWEST_PHASE,
    METRIC_BY_KEY,
    METRICS,
    gate_phase,
    phase_name,
)
from engage.phase.metrics import DepartmentInfo, Measure

_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def words(n: int) -> str:
    return _WORDS[n] if 0 <= n < len(_WORDS) else str(n)


def plural(n: int, singular: str, plural_form: str | None = None) -> str:
    return singular if n == 1 else (plural_form or singular + "s")


def pct(value: float | Fraction) -> str:
    return f"{round(float(value) * 100)}%"


def _exact(threshold: float) -> Fraction:
    return Fraction(str(threshold))


def _ceil(value: Fraction) -> int:
    return max(0, math.ceil(value))


def _next_needed(t: Fraction, n: int, d: int) -> int:
    """How many more successes, each counted in the whole too (n+1 of d+1), bring n/d to ``t`` (< 1)."""
    return _ceil((t * d - n) / (1 - t))


@dataclass(frozen=True)
class Scope:
    """Whose result it is: the organisation (``department`` None) or one department."""

    department: DepartmentInfo | None
    window_days: int

    @property
    def is_department(self) -> bool:
        return self.department is not None

    @property
    def name(self) -> str:
        return self.department.name if self.department else "the organisation"


def applicable(key: str, scope: Scope, measures: dict[str, Measure]) -> bool:
    metric = METRIC_BY_KEY[key]
    if scope.department is None:
        # With no customer-facing department other than marketing, this gate does not apply.
        if key == "answering_departments":
            return bool(measures[key].denominator)
        return True
    if metric.department == "never":
        return False
    if metric.department == "customer_facing":
        return scope.department.customer_facing
    return True


def effective_threshold(key: str, threshold: float, measures: dict[str, Measure]) -> float:
    """``answering_departments`` asks for at most as many departments as there are."""
    if key == "answering_departments" and measures.get(key) is not None:
        candidates = measures[key].denominator or 0
        return min(threshold, candidates)
    return threshold


def is_met(measure: Measure | None, threshold: float) -> bool:
    """Undefined is never met."""
    if measure is None or measure.exact is None:
        return False
    return measure.exact >= _exact(threshold)


# --- Words -------------------------------------------------------------------------------------


def _queries_phrase(scope: Scope) -> str:
    return f"queries routed to {scope.name}" if scope.is_department else "queries"


def _people_phrase(scope: Scope) -> str:
    return f"people in {scope.name}" if scope.is_department else "people"


def summary(key: str, measure: Measure | None, scope: Scope) -> str:
    """What the figure says, in words."""
    w = scope.window_days
    if measure is None:
        return "Not applicable to a single department." if scope.is_department else "Not applicable."
    n, d = measure.numerator, measure.denominator
    said = _SUMMARIES.get(key)
    return said(measure, scope, n, d, w) if said else ""


def _not_answering(measure: Measure) -> list[dict[str, Any]]:
    """Candidate departments short of the answers that count, closest first."""
    departments = measure.detail.get("departments", [])
    return [dept for dept in departments if dept["answers"] < ANSWERS_FOR_ANSWERING_DEPARTMENT]


def _closest(departments: list[dict[str, Any]], limit: int = 3) -> list[dict[str, Any]]:
    return departments[:limit]


def distance(key: str, measure: Measure | None, threshold: float, scope: Scope) -> str:
    """What it takes to meet the gate, in words a person can act on."""
    w = scope.window_days
    if measure is None:
        return "Not applicable."
    if measure.value is None:
        return summary(key, measure, scope)
    t = _exact(threshold)
    n, d = int(measure.numerator), int(measure.denominator or 0)
    to_go = _DISTANCES.get(key)
    return to_go(measure, scope, measure.value, n, d, w, t) if to_go else summary(key, measure, scope)


# One sentence per metric: what its figure says, and what it takes to meet its gate.


def _summary_response_rate(measure: Measure, scope: Scope, n: float | int, d: float | int | None, w: int) -> str:
    if not d:
        return f"No {_queries_phrase(scope)} were received in {w} days, so the response rate cannot be measured."
    return f"{n} of {d} {_queries_phrase(scope)} received in {w} days were answered ({pct(measure.value or 0)})."


def _summary_two_way_ratio(measure: Measure, scope: Scope, n: float | int, d: float | int | None, w: int) -> str:
    answers, messages = measure.detail.get("answers", 0), measure.detail.get("messages", 0)
    who = f" by {scope.name}" if scope.is_department else ""
    if not d:
        return f"No answers or messages were published{who} in {w} days."
    return (
        f"{answers} {plural(answers, 'answer')} against {messages} broadcast {plural(messages, 'message')} "
        f"published{who} in {w} days ({pct(measure.value or 0)} conversation)."
    )


def _summary_sla_attainment(measure: Measure, scope: Scope, n: float | int, d: float | int | None, w: int) -> str:
    if not d:
        return f"No {_queries_phrase(scope)} received in {w} days were answered or came due yet."
    return (
        f"{n} of {d} {_queries_phrase(scope)} received in {w} days that were answered or came due "
        f"met their response target ({pct(measure.value or 0)})."
    )


def _summary_answering_departments(
    measure: Measure, scope: Scope, n: float | int, d: float | int | None, w: int
) -> str:
    if not d:
        return "There are no customer-facing departments other than marketing."
    return (
        f"{n} of {d} customer-facing departments other than marketing published at least "
        f"{ANSWERS_FOR_ANSWERING_DEPARTMENT} answers in {w} days."
    )


def _summary_customer_facing_coverage(
    measure: Measure, scope: Scope, n: float | int, d: float | int | None, w: int
) -> str:
    if not d:
        return "There are no customer-facing departments other than marketing."
    return f"{n} of {d} customer-facing departments other than marketing answer queries ({pct(measure.value or 0)})."


def _summary_non_marketing_answer_share(
    measure: Measure, scope: Scope, n: float | int, d: float | int | None, w: int
) -> str:
    if not d:
        return f"No answers were published in {w} days."
    return f"{n} of {d} answers published in {w} days came from outside marketing ({pct(measure.value or 0)})."


def _summary_active_employee_ratio(
    measure: Measure, scope: Scope, n: float | int, d: float | int | None, w: int
) -> str:
    if not d:
        return f"There are no {_people_phrase(scope)} to count."
    return f"{n} of {d} {_people_phrase(scope)} took part in {w} days ({pct(measure.value or 0)})."


def _summary_department_coverage(measure: Measure, scope: Scope, n: float | int, d: float | int | None, w: int) -> str:
    if not d:
        return "No department has anyone in it yet."
    share = pct(ACTIVE_SHARE_FOR_COVERED_DEPARTMENT)
    return f"{n} of {d} departments had at least {share} of their people take part in {w} days."


def _summary_certified_ratio(measure: Measure, scope: Scope, n: float | int, d: float | int | None, w: int) -> str:
    whom = f"people in {scope.name}" if scope.is_department else "people in customer-facing departments"
    if not d:
        return f"There are no {whom} to certify."
    return f"{n} of {d} {whom} hold a valid responder certification ({pct(measure.value or 0)})."


def _summary_insights_adopted(measure: Measure, scope: Scope, n: float | int, d: float | int | None, w: int) -> str:
    who = f" submitted by {scope.name}" if scope.is_department else ""
    return (
        f"{n} {plural(int(n), 'insight')} from community queries{who} "
        f"{'was' if n == 1 else 'were'} planned or shipped in the last {INSIGHT_ADOPTION_DAYS} days."
    )


def _summary_customer_satisfaction(
    measure: Measure, scope: Scope, n: float | int, d: float | int | None, w: int
) -> str:
    whose = f" by {scope.name}" if scope.is_department else ""
    if not d:
        return f"No customer rated an answer published{whose} in {w} days."
    return (
        f"{n} of {d} customer ratings of answers published{whose} in {w} days were 4 or 5 ({pct(measure.value or 0)})."
    )


def _summary_contribution_evenness(
    measure: Measure, scope: Scope, n: float | int, d: float | int | None, w: int
) -> str:
    if measure.value is None:
        return f"Fewer than two departments published answers in {w} days, so evenness cannot be measured."
    return f"Answers in {w} days are spread across departments with evenness {measure.value:.2f} (1 is even)."


_SUMMARIES: dict[str, Callable[[Measure, Scope, float | int, float | int | None, int], str]] = {
    "response_rate": _summary_response_rate,
    "two_way_ratio": _summary_two_way_ratio,
    "sla_attainment": _summary_sla_attainment,
    "answering_departments": _summary_answering_departments,
    "customer_facing_coverage": _summary_customer_facing_coverage,
    "non_marketing_answer_share": _summary_non_marketing_answer_share,
    "active_employee_ratio": _summary_active_employee_ratio,
    "department_coverage": _summary_department_coverage,
    "certified_ratio": _summary_certified_ratio,
    "insights_adopted": _summary_insights_adopted,
    "customer_satisfaction": _summary_customer_satisfaction,
    "contribution_evenness": _summary_contribution_evenness,
}


def _distance_response_rate(
    measure: Measure, scope: Scope, value: float | int, n: int, d: int, w: int, t: Fraction
) -> str:
    k = _ceil(t * d - n)
    return (
        f"{n} of {d} {_queries_phrase(scope)} received in {w} days were answered ({pct(value)}); "
        f"answer {words(k)} more of them to reach {pct(t)}."
    )


def _distance_two_way_ratio(
    measure: Measure, scope: Scope, value: float | int, n: int, d: int, w: int, t: Fraction
) -> str:
    answers, messages = measure.detail.get("answers", 0), measure.detail.get("messages", 0)
    if t >= 1:
        return f"{messages} broadcast messages were published in {w} days; a ratio of 100% allows none."
    k = _ceil(t * messages / (1 - t) - answers)
    return (
        f"{answers} {plural(answers, 'answer')} against {messages} broadcast {plural(messages, 'message')} "
        f"in {w} days ({pct(value)}); {words(k)} more published {plural(k, 'answer')} "
        f"would reach {pct(t)}."
    )


def _distance_sla_attainment(
    measure: Measure, scope: Scope, value: float | int, n: int, d: int, w: int, t: Fraction
) -> str:
    if t >= 1:
        return f"{d - n} of {d} {_queries_phrase(scope)} missed their response target in {w} days."
    k = _next_needed(t, n, d)
    return (
        f"{n} of {d} {_queries_phrase(scope)} met their response target in {w} days ({pct(value)}); "
        f"the next {words(k)} {plural(k, 'query', 'queries')} answered on time would reach {pct(t)}."
    )


def _distance_answering_departments(
    measure: Measure, scope: Scope, value: float | int, n: int, d: int, w: int, t: Fraction
) -> str:
    needed = _ceil(t - n)
    waiting = _not_answering(measure)
    named = "; ".join(
        f"{dept['name']} published {dept['answers']} {plural(dept['answers'], 'answer')} in {w} days"
        for dept in _closest(waiting)
    )
    tail = (
        f"{words(needed)} more customer-facing {plural(needed, 'department')} must reach "
        f"{ANSWERS_FOR_ANSWERING_DEPARTMENT}."
    )
    return f"{named}; {tail}" if named else tail[0].upper() + tail[1:]


def _distance_customer_facing_coverage(
    measure: Measure, scope: Scope, value: float | int, n: int, d: int, w: int, t: Fraction
) -> str:
    needed = _ceil(t * d - n)
    waiting = _not_answering(measure)
    closest = ", ".join(f"{dept['name']} with {dept['answers']}" for dept in _closest(waiting))
    return (
        f"{n} of {d} customer-facing departments other than marketing published at least "
        f"{ANSWERS_FOR_ANSWERING_DEPARTMENT} answers in {w} days; {words(needed)} more must"
        + (f" (closest: {closest})." if closest else ".")
    )


def _distance_non_marketing_answer_share(
    measure: Measure, scope: Scope, value: float | int, n: int, d: int, w: int, t: Fraction
) -> str:
    if t >= 1:
        return f"{d - n} of {d} answers in {w} days came from marketing; a share of 100% allows none."
    k = _next_needed(t, n, d)
    return (
        f"{d - n} of the {d} answers published in {w} days came from marketing; {words(k)} more "
        f"{plural(k, 'answer')} from other departments would bring their share to {pct(t)}."
    )


def _distance_active_employee_ratio(
    measure: Measure, scope: Scope, value: float | int, n: int, d: int, w: int, t: Fraction
) -> str:
    k = _ceil(t * d - n)
    return (
        f"{n} of {d} {_people_phrase(scope)} took part in {w} days ({pct(value)}); {words(k)} more "
        f"must share a message, claim, answer or review a query, complete a course or submit an insight "
        f"to reach {pct(t)}."
    )


def _distance_department_coverage(
    measure: Measure, scope: Scope, value: float | int, n: int, d: int, w: int, t: Fraction
) -> str:
    k = _ceil(t * d - n)
    share = Fraction(str(ACTIVE_SHARE_FOR_COVERED_DEPARTMENT))
    short = []
    for dept in measure.detail.get("departments", []):
        missing = _ceil(share * dept["people"] - dept["active"])
        if missing > 0:
            short.append((missing, dept["name"]))
    short.sort()
    closest = ", ".join(f"{name} needs {words(m)} more active {plural(m, 'person', 'people')}" for m, name in short[:3])
    return (
        f"{n} of {d} departments had at least {pct(share)} of their people take part in {w} days; "
        f"{words(k)} more must" + (f" ({closest})." if closest else ".")
    )


def _distance_certified_ratio(
    measure: Measure, scope: Scope, value: float | int, n: int, d: int, w: int, t: Fraction
) -> str:
    k = _ceil(t * d - n)
    whom = f"people in {scope.name}" if scope.is_department else "people in customer-facing departments"
    return (
        f"{n} of {d} {whom} hold a valid responder certification ({pct(value)}); "
        f"{words(k)} more must earn one to reach {pct(t)}."
    )


def _distance_insights_adopted(
    measure: Measure, scope: Scope, value: float | int, n: int, d: int, w: int, t: Fraction
) -> str:
    k = _ceil(t - n)
    who = f" submitted by {scope.name}" if scope.is_department else ""
    return (
        f"{n} {plural(n, 'insight')} from community queries{who} {'was' if n == 1 else 'were'} planned or "
        f"shipped in the last {INSIGHT_ADOPTION_DAYS} days; {words(k)} more must be."
    )


def _distance_customer_satisfaction(
    measure: Measure, scope: Scope, value: float | int, n: int, d: int, w: int, t: Fraction
) -> str:
    if t >= 1:
        return f"{d - n} of {d} customer ratings in {w} days were below 4; a share of 100% allows none."
    k = _next_needed(t, n, d)
    return (
        f"{n} of {d} customer ratings in {w} days were 4 or 5 ({pct(value)}); the next "
        f"{words(k)} {plural(k, 'rating')} of 4 or 5 would reach {pct(t)}."
    )


def _distance_contribution_evenness(
    measure: Measure, scope: Scope, value: float | int, n: int, d: int, w: int, t: Fraction
) -> str:
    return (
        f"Answers are spread unevenly (evenness {value:.2f}, target {float(t):.2f}): more answers "
        f"from the departments that publish few would raise it."
    )


_DISTANCES: dict[str, Callable[[Measure, Scope, float | int, int, int, int, Fraction], str]] = {
    "response_rate": _distance_response_rate,
    "two_way_ratio": _distance_two_way_ratio,
    "sla_attainment": _distance_sla_attainment,
    "answering_departments": _distance_answering_departments,
    "customer_facing_coverage": _distance_customer_facing_coverage,
    "non_marketing_answer_share": _distance_non_marketing_answer_share,
    "active_employee_ratio": _distance_active_employee_ratio,
    "department_coverage": _distance_department_coverage,
    "certified_ratio": _distance_certified_ratio,
    "insights_adopted": _distance_insights_adopted,
    "customer_satisfaction": _distance_customer_satisfaction,
    "contribution_evenness": _distance_contribution_evenness,
}


# --- Gates and phases --------------------------------------------------------------------------


def evaluate(
    *, measures: dict[str, Measure], thresholds: dict[str, float | None], scope: Scope
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The gates (metrics with a threshold) and the other metrics, in the result's shape."""
    gates: list[dict[str, Any]] = []
    others: list[dict[str, Any]] = []
    for metric in METRICS:
        key = metric.key
        configured = thresholds.get(key)
        is_gate = configured is not None
        measure = measures.get(key)
        applies = measure is not None and applicable(key, scope, measures)
        shown = measure if applies else None
        entry: dict[str, Any] = {
            "key": key,
            "label": metric.label,
            "phase": gate_phase(key) if is_gate else None,
            "value": shown.value if shown else None,
            "numerator": shown.numerator if shown else None,
            "denominator": shown.denominator if shown else None,
            "threshold": None,
            "met": None,
            "applicable": applies,
            "summary": summary(key, shown, scope),
        }
        if shown is not None and shown.detail.get("departments") is not None:
            entry["departments"] = shown.detail["departments"]
        if is_gate:
            assert configured is not None
            threshold = effective_threshold(key, configured, measures)
            entry["threshold"] = int(threshold) if metric.integer else threshold
            if applies:
                entry["met"] = is_met(shown, threshold)
                if not entry["met"]:
                    entry["distance"] = distance(key, shown, threshold, scope)
            gates.append(entry)
        else:
            others.append(entry)
    return gates, others


def phase_reachable(gates: list[dict[str, Any]], phase: int) -> bool:
    """A phase all of whose gates are not applicable is not reached."""
    return any(g["applicable"] for g in gates if g["phase"] == phase)


def raw_phase(gates: list[dict[str, Any]]) -> int:
    """The highest phase whose gates, and those of every lower phase, all hold."""
    reached = LOWEST_PHASE
    for phase in range(LOWEST_PHASE + 1, HIGHEST_PHASE + 1):
        own = [g for g in gates if g["phase"] == phase and g["applicable"]]
        if not own or not all(g["met"] for g in own):
            break
        reached = phase
    return reached


def stabilise(*, previous: int | None, recent_raw: list[int]) -> tuple[int, str]:
    """The reported phase under the stability rule.

    ``recent_raw`` holds the raw phases of the last S days that exist, oldest first, today
    last; ``previous`` is the reported phase of the day before (None for a first snapshot).
    Returns the phase and what the rule did: ``first``, ``raised``, ``lowered`` or ``held``.
    """
    today = recent_raw[-1]
    if previous is None:
        return today, "first"
    if all(raw > previous for raw in recent_raw):
        return min(recent_raw), "raised"
    if all(raw < previous for raw in recent_raw):
        return max(recent_raw), "lowered"
    return previous, "held"


def stability_summary(*, phase: int, raw: int, recent_raw: list[int], stability_days: int, rule: str) -> str:
    if rule == "raised":
        return (
            f"Raised to {phase_name(phase)}: the gates of a higher phase held on each of the last "
            f"{stability_days} days."
        )
    if rule == "lowered":
        return f"Lowered to {phase_name(phase)}: the gates failed on each of the last {stability_days} days."
    if raw == phase:
        return f"Steady at {phase_name(phase)}."
    above = raw > phase
    streak = 0
    for value in reversed(recent_raw):
        if value != phase and (value > phase) == above:
            streak += 1
        else:
            break
    direction = "above" if above else "below"
    return (
        f"Today's gates put it at {phase_name(raw)}, {direction} the reported {phase_name(phase)}; the reported "
        f"phase changes once that has held on {stability_days} days in a row ({streak} so far)."
    )


def next_phase(
    *, phase: int, raw: int, gates: list[dict[str, Any]], scope: Scope, stability_days: int
) -> dict[str, Any] | None:
    """The next phase and what stands in its way: every unmet gate it needs, lowest phase first."""
    if phase >= HIGHEST_PHASE:
        return None
    target = phase + 1
    entry: dict[str, Any] = {"phase": target, "name": phase_name(target), "reachable": True, "unmet": []}
    if not phase_reachable(gates, target):
        entry["reachable"] = False
        entry["summary"] = f"{phase_name(target)} is not measured for {scope.name}: none of its gates apply to " + (
            "a department that is not customer-facing."
            if scope.department and not scope.department.customer_facing
            else "a single department."
        )
        return entry
    needed = [g for g in gates if g["applicable"] and g["phase"] is not None and g["phase"] <= target]
    for gate in needed:
        if not gate["met"]:
            entry["unmet"].append(
                {
                    "key": gate["key"],
                    "label": gate["label"],
                    "phase": gate["phase"],
                    "value": gate["value"],
                    "threshold": gate["threshold"],
                    "distance": gate.get("distance", gate["summary"]),
                }
            )
    if entry["unmet"]:
        count = len(entry["unmet"])
        entry["summary"] = (
            f"{words(count).capitalize()} {plural(count, 'gate')} stand{'s' if count == 1 else ''} between "
            f"{scope.name} and {phase_name(target)}."
        )
    else:
        entry["summary"] = (
            f"Every gate of {phase_name(target)} is met today; it becomes the reported phase once they have "
            f"held for {stability_days} days in a row."
        )
    return entry
