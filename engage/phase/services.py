"""Writes of the phase engine: the configuration (audited) and the daily snapshots.

Snapshots are upserted (one per scope and day), so computing a day twice is harmless;
because the stability rule looks back, computing a day recomputes every later day that
has a snapshot too (:func:`phase_recompute`).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from accounts.models import User
from config.errors import ServiceError
from engage.models import PhaseConfig, PhaseConfigChange, PhaseSnapshot
from engage.phase import rollups
from engage.phase.definitions import (
    GATE_KEYS,
    METRIC_BY_KEY,
    STABILITY_DAYS_RANGE,
    WINDOW_DAYS_RANGE,
    default_config,
)
from engage.phase.engine import ORGANISATION_KEY, ScopeResult, compute_day, finish
from engage.phase.selectors import ConfigHistory, normalise_config, phase_config_current

# How far back the daily job fills days it missed (an outage), at most.
CATCH_UP_DAYS = 31

Progress = Callable[[date, dict[str, Any]], None]


# --- Configuration ---------------------------------------------------------------------------------


def _whole(value: Any, *, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
        raise ServiceError(f"{field} must be a whole number.", field=field)
    if not low <= value <= high:
        raise ServiceError(f"{field} must be between {low} and {high}.", field=field)
    return int(value)


def _threshold(key: str, value: Any) -> float | int | None:
    metric = METRIC_BY_KEY[key]
    if value is None:
        if metric.default is None:
            return None  # a metric that gates nothing by default may go back to gating nothing
        raise ServiceError(f"The {key} gate needs a number.", field="thresholds", gate=key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ServiceError(f"The threshold of {key} must be a number.", field="thresholds", gate=key)
    if not (0 <= value <= metric.maximum and math.isfinite(value)):
        raise ServiceError(
            f"The threshold of {key} must be between 0 and {metric.maximum:g}.", field="thresholds", gate=key
        )
    if metric.integer:
        if int(value) != value:
            raise ServiceError(f"The threshold of {key} must be a whole number.", field="thresholds", gate=key)
        return int(value)
    return float(value)


def phase_config_update(*, user: User, data: Any, partial: bool, now: datetime | None = None) -> dict[str, Any]:
    """Change the configuration (``PUT``: all of it; ``PATCH``: what ``data`` names), audited.

    ``PUT`` needs ``window_days``, ``stability_days`` and ``thresholds``; gates it leaves out
    of ``thresholds`` go back to their defaults. 400 (ServiceError naming the field) for an
    unknown gate or a value out of range; nothing is changed then.
    """
    if not isinstance(data, dict):
        raise ServiceError("Send a JSON object.", field="non_field_errors")
    if not partial:
        for field in ("window_days", "stability_days", "thresholds"):
            if field not in data:
                raise ServiceError(f"{field} is required.", field=field)
    changes: dict[str, Any] = {}
    if "window_days" in data:
        changes["window_days"] = _whole(
            data["window_days"], field="window_days", low=WINDOW_DAYS_RANGE[0], high=WINDOW_DAYS_RANGE[1]
        )
    if "stability_days" in data:
        changes["stability_days"] = _whole(
            data["stability_days"], field="stability_days", low=STABILITY_DAYS_RANGE[0], high=STABILITY_DAYS_RANGE[1]
        )
    thresholds: dict[str, Any] | None = None
    if "thresholds" in data:
        given = data["thresholds"]
        if not isinstance(given, dict):
            raise ServiceError("thresholds must be an object of gate keys and numbers.", field="thresholds")
        unknown = sorted(str(key) for key in given if key not in GATE_KEYS)
        if unknown:
            raise ServiceError(f"Unknown gate: {', '.join(unknown)}.", field="thresholds", gate=unknown[0])
        thresholds = {key: _threshold(key, value) for key, value in given.items()}

    now = now or timezone.now()
    with transaction.atomic():
        row, _created = PhaseConfig.objects.get_or_create(pk=1, defaults=_row_defaults(default_config()))
        row = PhaseConfig.objects.select_for_update().get(pk=1)
        before = normalise_config(
            {"window_days": row.window_days, "stability_days": row.stability_days, "thresholds": row.thresholds}
        )
        after = normalise_config(before) if partial else default_config()
        after.update(changes)
        if thresholds is not None:
            after["thresholds"] = {**after["thresholds"], **thresholds}
        if after != before:
            row.window_days = after["window_days"]
            row.stability_days = after["stability_days"]
            row.thresholds = after["thresholds"]
            row.updated_at = now
            row.updated_by = user
            row.save()
            PhaseConfigChange.objects.create(changed_by=user, changed_at=now, before=before, after=after)
    return phase_config_current()


def _row_defaults(config: dict[str, Any]) -> dict[str, Any]:
    return {
        "window_days": config["window_days"],
        "stability_days": config["stability_days"],
        "thresholds": config["thresholds"],
    }


# --- Snapshots ---------------------------------------------------------------------------------------


def _recent_snapshots(
    *, day: date, stability_days: int, scope_keys: list[int]
) -> dict[int, list[tuple[date, int, int]]]:
    """Per scope, ``(day, raw_phase, phase)`` of the snapshots of the S days before ``day``
    (oldest first), and, for a scope with none there, its latest earlier snapshot."""
    since = day - timedelta(days=stability_days)
    found: dict[int, list[tuple[date, int, int]]] = defaultdict(list)
    rows = (
        PhaseSnapshot.objects.filter(day__gte=since, day__lt=day, scope_key__in=scope_keys)
        .order_by("scope_key", "day")
        .values_list("scope_key", "day", "raw_phase", "phase")
    )
    for key, snap_day, raw, phase in rows:
        found[key].append((snap_day, raw, phase))
    missing = [key for key in scope_keys if key not in found]
    if missing:
        latest_days = (
            PhaseSnapshot.objects.filter(day__lt=since, scope_key__in=missing)
            .values("scope_key")
            .annotate(last=Max("day"))
            .order_by()
        )
        wanted = {(row["scope_key"], row["last"]) for row in latest_days}
        if wanted:
            earlier = PhaseSnapshot.objects.filter(
                scope_key__in=[key for key, _ in wanted], day__in={d for _, d in wanted}
            ).values_list("scope_key", "day", "raw_phase", "phase")
            for key, snap_day, raw, phase in earlier:
                if (key, snap_day) in wanted:
                    found[key].append((snap_day, raw, phase))
    return found


def _store_day(*, day: date, history: ConfigHistory, now: datetime) -> dict[str, Any]:
    """Compute and upsert every scope's snapshot of ``day``; returns the organisation's result."""
    config = history.at(day)
    stability_days = config["stability_days"]
    items: list[ScopeResult] = compute_day(as_of=day, config=config)
    recent = _recent_snapshots(day=day, stability_days=stability_days, scope_keys=[i.scope_key for i in items])
    backfilled = timezone.localdate(now) > day + timedelta(days=1)
    window_start = day - timedelta(days=stability_days - 1)
    snapshots = []
    organisation: dict[str, Any] = {}
    for item in items:
        earlier = recent.get(item.scope_key, [])
        previous = earlier[-1][2] if earlier else None
        earlier_raw = [raw for snap_day, raw, _phase in earlier if snap_day >= window_start]
        result = finish(item, previous=previous, earlier_raw=earlier_raw, computed_at=now, backfilled=backfilled)
        if item.scope_key == ORGANISATION_KEY:
            organisation = result
        snapshots.append(
            PhaseSnapshot(
                scope=item.scope,
                scope_key=item.scope_key,
                department_id=item.department.id if item.department else None,
                day=day,
                phase=result["phase"],
                raw_phase=result["raw_phase"],
                result=result,
                thresholds=config,
                computed_at=now,
            )
        )
    PhaseSnapshot.objects.bulk_create(
        snapshots,
        update_conflicts=True,
        unique_fields=["scope_key", "day"],
        update_fields=["scope", "department", "phase", "raw_phase", "result", "thresholds", "computed_at"],
    )
    return organisation


def phase_recompute(
    *, first: date, last: date | None = None, progress: Progress | None = None, now: datetime | None = None
) -> int:
    """Compute the snapshots of ``first … last`` and of every later day that has one.

    Days are computed in order, each in its own transaction, with the configuration in
    effect at the end of that day. Returns how many days were computed.
    """
    last = last or first
    latest = PhaseSnapshot.objects.aggregate(latest=Max("day"))["latest"]
    if latest is not None and latest > last:
        last = latest
    history = ConfigHistory.load()
    computed = 0
    day = first
    while day <= last:
        with transaction.atomic():
            organisation = _store_day(day=day, history=history, now=now or timezone.now())
        computed += 1
        if progress is not None:
            progress(day, organisation)
        day += timedelta(days=1)
    return computed


def phase_backfill(*, days: int, progress: Progress | None = None) -> int:
    """Today and the ``days`` days before it, from the log and the facts as they stood."""
    if isinstance(days, bool) or not isinstance(days, int) or days < 0:
        raise ServiceError("backfill must be a whole number of days, 0 or more.", field="backfill")
    today = timezone.localdate()
    return phase_recompute(first=today - timedelta(days=days), last=today, progress=progress)


def phase_snapshot_daily(*, fold_budget_seconds: float = 60.0) -> int:
    """The daily job: bring the rollups up to date, then snapshot the day that just ended.

    Days missed since the latest snapshot (an outage) are filled too, up to a month back.
    """
    rollups.rollups_fold(time_budget_seconds=fold_budget_seconds, sweep=True)  # late commits too
    yesterday = timezone.localdate() - timedelta(days=1)
    latest = PhaseSnapshot.objects.filter(scope_key=ORGANISATION_KEY, day__lte=yesterday).aggregate(latest=Max("day"))[
        "latest"
    ]
    first = yesterday
    if latest is not None and latest < yesterday:
        first = max(latest + timedelta(days=1), yesterday - timedelta(days=CATCH_UP_DAYS - 1))
    return phase_recompute(first=first, last=yesterday)


def phase_ensure_computed(*, fold_budget_seconds: float = 2.0) -> bool:
    """Compute today's snapshots if there are none at all yet. True if it computed."""
    if PhaseSnapshot.objects.filter(scope_key=ORGANISATION_KEY).exists():
        return False
    rollups.rollups_fold(time_budget_seconds=fold_budget_seconds)
    today = timezone.localdate()
    phase_recompute(first=today, last=today)
    return True
