"""The phase model's vocabulary (PHASE-MODEL.md): phases, metrics, gates and their defaults.

Everything the engine, the API and the dashboard name comes from here, so a label or a
default is written once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from config.activity import ActivityKind

PHASE_NAMES = {1: "Authoritarian", 2: "Inclusive", 3: "Collaborative", 4: "Social"}
LOWEST_PHASE = 1
HIGHEST_PHASE = 4

# Participation: what makes a person *active* (reading and visitors' clicks do not count).
PARTICIPATION_KINDS = frozenset(
    {
        ActivityKind.MESSAGE_SHARED,
        ActivityKind.QUERY_CLAIMED,
        ActivityKind.ANSWER_PUBLISHED,
        ActivityKind.ANSWER_REVIEWED,
        ActivityKind.COURSE_COMPLETED,
        ActivityKind.INSIGHT_SUBMITTED,
    }
)

# Fixed parts of the metric definitions (not thresholds: changing them changes the metric).
ANSWERS_FOR_ANSWERING_DEPARTMENT = 3  # answering_departments: "at least 3 answers published in W"
ACTIVE_SHARE_FOR_COVERED_DEPARTMENT = 0.2  # department_coverage: "at least 20 % of their people active"
INSIGHT_ADOPTION_DAYS = 90  # insights_adopted: "reached within the 90 days before as_of"
SATISFIED_SCORES = (4, 5)  # customer_satisfaction: the ratings (1 to 5) that count as satisfied

DEFAULT_WINDOW_DAYS = 30
DEFAULT_STABILITY_DAYS = 7
WINDOW_DAYS_RANGE = (1, 365)
STABILITY_DAYS_RANGE = (1, 90)

BACKFILL_NOTE = (
    "Computed after the day had ended: department membership and each department's kind and "
    "customer-facing flag are taken as they are now, since they keep no history."
)


@dataclass(frozen=True)
class MetricDef:
    key: str
    label: str
    phase: int | None  # the phase it gates by default; None: it gates nothing
    default: float | None  # the default threshold; None: no threshold
    integer: bool = False  # a count (thresholds are whole numbers) rather than a ratio
    maximum: float = 1.0  # the largest threshold an administrator may set
    # Which gates cannot apply to a single department (PHASE-MODEL.md "Departments").
    department: str = "always"  # "always", "customer_facing" (applies when it is), "never"


METRICS: tuple[MetricDef, ...] = (
    MetricDef("response_rate", "Response rate", 2, 0.25, department="customer_facing"),
    MetricDef("two_way_ratio", "Two-way ratio", 2, 0.20),
    MetricDef("answering_departments", "Answering departments", 3, 2, integer=True, maximum=1000, department="never"),
    MetricDef("customer_facing_coverage", "Customer-facing coverage", 3, 0.50, department="never"),
    MetricDef("non_marketing_answer_share", "Answers from outside marketing", 3, 0.30, department="never"),
    MetricDef("sla_attainment", "Response-time attainment", 3, 0.50, department="customer_facing"),
    MetricDef("active_employee_ratio", "Active employees", 4, 0.40),
    MetricDef("department_coverage", "Department coverage", 4, 0.75, department="never"),
    MetricDef("certified_ratio", "Certified responders", 4, 0.60, department="customer_facing"),
    MetricDef("insights_adopted", "Insights adopted", 4, 1, integer=True, maximum=100_000),
    # Reported and trended; it gates Social only if an administrator gives it a threshold.
    MetricDef("contribution_evenness", "Contribution evenness", None, None, department="never"),
    # Customers' ratings of answers (engage.ratings): reported, and a gate only if given a threshold.
    MetricDef("customer_satisfaction", "Customer satisfaction", None, None),
)
METRIC_BY_KEY = {metric.key: metric for metric in METRICS}
GATE_KEYS = tuple(metric.key for metric in METRICS)
# A metric that gates nothing by default gates this phase once it is given a threshold.
OPTIONAL_GATE_PHASE = 4


def default_thresholds() -> dict[str, float | None]:
    return {metric.key: metric.default for metric in METRICS}


def gate_phase(key: str) -> int:
    metric = METRIC_BY_KEY[key]
    return metric.phase if metric.phase is not None else OPTIONAL_GATE_PHASE


def default_config() -> dict[str, Any]:
    return {
        "window_days": DEFAULT_WINDOW_DAYS,
        "stability_days": DEFAULT_STABILITY_DAYS,
        "thresholds": default_thresholds(),
    }


def phase_name(phase: int) -> str:
    return PHASE_NAMES[phase]
