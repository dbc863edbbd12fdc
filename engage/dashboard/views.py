"""Web pages of the executive dashboard, a department's phase, the drill-down, the CSV
exports and the leaderboard.

Thin: the figures come from :mod:`engage.dashboard.selectors` (snapshots and rollups),
their words and shapes from :mod:`engage.dashboard.presentation`, the leaderboard from
:mod:`engage.dashboard.leaderboard`, writes from
:mod:`engage.dashboard.services`. Visibility first (404), then role (403), then input (400).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages as flash
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString
from django.views.decorators.cache import never_cache
from django.views.decorators.gzip import gzip_page
from django.views.decorators.http import require_GET, require_POST

from accounts.models import Department, RoleName, User
from accounts.permissions import signed_in
from engage.dashboard import leaderboard as boards
from engage.dashboard import presentation, selectors, services
from engage.dashboard.csv_export import csv_response
from engage.phase import selectors as phase_selectors
from engage.phase import services as phase_services

DRILL_PAGE_SIZE = 50
# A dashboard page's figures change when a snapshot is computed (the version in the key) and,
# for the participation and follow-ups it also shows, with the rollups, which trail the log by
# up to a minute anyway: the rendered figures are kept a minute per version and request, so a
# dashboard many executives keep open is read and rendered once a minute, not once a view.
FIGURES_SECONDS = 60


def _require_executive(user: User) -> None:
    if not user.has_role(RoleName.EXECUTIVE):
        raise PermissionDenied("The dashboard is for executives and administrators; your department's page is yours.")


def _bad_request(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "engage/dashboard/bad_request.html", {"message": message}, status=400)


def _as_of(request: HttpRequest) -> Any:
    """``?as_of=YYYY-MM-DD``: the day the page shows (None: the latest); ValueError for a bad day."""
    value = (request.GET.get("as_of") or "").strip()
    return selectors.parse_day(value) if value else None


def _ensure_snapshots() -> None:
    """The very first read computes today, as the API does."""
    phase_services.phase_ensure_computed()


# --- The organisation and a department -----------------------------------------------------------


def _figures(key: list[Any], template: str, build: Callable[[], dict[str, Any]]) -> tuple[SafeString, bool]:
    """A dashboard page's figures, rendered by ``template`` from ``build()``'s context, kept
    ``FIGURES_SECONDS`` under ``key``, the snapshots' version and today's date; and whether
    there are none yet (an empty page is never kept: the first figures may come any moment)."""
    parts = [*key, selectors.snapshots_version(), timezone.localdate()]
    cache_key = "engage:dashboard:" + hashlib.sha256(repr(parts).encode()).hexdigest()
    kept = cache.get(cache_key)
    if isinstance(kept, SafeString):  # as the template rendered it; anything else is rebuilt
        return kept, False
    context = build()
    html = render_to_string(template, context)
    if not context["empty"]:
        cache.set(cache_key, html, FIGURES_SECONDS)
    return html, bool(context["empty"])


@require_GET
@never_cache
@gzip_page  # the largest page (the heat map, the weekly grid): a phone downloads a tenth of it
def overview(request: HttpRequest) -> HttpResponse:
    user = signed_in(request)
    _require_executive(user)
    try:
        days = selectors.history_days(request.GET.get("days"))
        as_of = _as_of(request)
    except ValueError as exc:
        return _bad_request(request, str(exc))

    def build() -> dict[str, Any]:
        data = selectors.dashboard_overview(days=days, as_of=as_of)
        if data is None and selectors.snapshot_for(as_of=None) is None:
            _ensure_snapshots()
            data = selectors.dashboard_overview(days=days, as_of=as_of)
        context: dict[str, Any] = {"empty": data is None, "asked_as_of": as_of}
        if data is not None:
            context.update(
                data, drill_query=urlencode({"as_of": data["as_of"].isoformat()}), export_query="", executive=True
            )
        return context

    figures, empty = _figures(["organisation", days, as_of], "engage/dashboard/_overview.html", build)
    return render(request, "engage/dashboard/overview.html", {"figures": figures, "empty": empty})


@require_GET
@never_cache
@gzip_page
def department(request: HttpRequest, slug: str) -> HttpResponse:
    user = signed_in(request)
    chosen = phase_selectors.phase_department_get_for_user(user=user, slug=slug)
    try:
        days = selectors.history_days(request.GET.get("days"))
        as_of = _as_of(request)
    except ValueError as exc:
        return _bad_request(request, str(exc))
    executive = user.has_role(RoleName.EXECUTIVE)

    def build() -> dict[str, Any]:
        data = selectors.department_overview(department=chosen, days=days, as_of=as_of)
        if data is None and selectors.snapshot_for(as_of=None, department=chosen) is None:
            _ensure_snapshots()
            data = selectors.department_overview(department=chosen, days=days, as_of=as_of)
        context: dict[str, Any] = {"empty": data is None, "asked_as_of": as_of}
        if data is not None:
            context.update(
                data,
                drill_query=urlencode({"as_of": data["as_of"].isoformat(), "department": chosen.slug}),
                export_query=urlencode({"department": chosen.slug}) + "&",
            )
        context.update(department=chosen, executive=executive)
        return context

    key = ["department", chosen.pk, chosen.slug, chosen.name, executive, days, as_of]
    figures, empty = _figures(key, "engage/dashboard/_department.html", build)
    return render(
        request, "engage/dashboard/department.html", {"figures": figures, "empty": empty, "department": chosen}
    )


# --- Drill-down ---------------------------------------------------------------------------------


def _drill(request: HttpRequest, key: str) -> selectors.Drill:
    """The drill-down the request asks for; ValueError (a 400) for bad input."""
    as_of = None
    if request.GET.get("as_of"):
        as_of = selectors.parse_day(request.GET.get("as_of"))
    return selectors.drill_for_user(
        user=signed_in(request),
        key=key,
        as_of=as_of,
        department_slug=(request.GET.get("department") or "").strip(),
        side=(request.GET.get("side") or "").strip(),
    )


def _keep(drill: selectors.Drill, **extra: str) -> str:
    params = {"as_of": drill.as_of.isoformat()}
    if drill.department is not None:
        params["department"] = drill.department.slug
    params.update({k: v for k, v in extra.items() if v})
    return urlencode(params)


@require_GET
@never_cache
def drill(request: HttpRequest, key: str) -> HttpResponse:
    try:
        found = _drill(request, key)
    except ValueError as exc:
        return _bad_request(request, str(exc))
    paginator = Paginator(found.rows, DRILL_PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    context = {
        "drill": found,
        "header": presentation.drill_header(found.kind),
        "rows": [presentation.drill_cells(found.kind, row) for row in page.object_list],
        "page": page,
        "extra": _keep(found, side=found.side) + "&",
        "base_query": _keep(found),
        "csv_query": _keep(found, side=found.side),
        "executive": signed_in(request).has_role(RoleName.EXECUTIVE),
    }
    return render(request, "engage/dashboard/drill.html", context)


@require_GET
def drill_csv(request: HttpRequest, key: str) -> HttpResponse | StreamingHttpResponse:
    try:
        found = _drill(request, key)
    except ValueError as exc:
        return _bad_request(request, str(exc))
    rows = (
        [cell["text"] for cell in presentation.drill_cells(found.kind, row, full_text=True)]
        for row in found.rows.iterator(chunk_size=2000)
    )
    scope = f"-{found.department.slug}" if found.department else ""
    side = f"-{found.side}" if found.side else ""
    return csv_response(
        filename=f"engage-{key}{scope}{side}-{found.as_of.isoformat()}.csv",
        header=presentation.drill_header(found.kind),
        rows=rows,
    )


# --- CSV of what the pages show ---------------------------------------------------------------------


def _gate_rows(scope: str, result: dict[str, Any]) -> list[list[Any]]:
    rows = []
    for gate in presentation.gate_views(result):
        rows.append(
            [
                result["as_of"],
                scope,
                gate.key,
                gate.label,
                gate.phase_name,
                gate.value,
                gate.numerator if gate.applicable else None,
                gate.denominator if gate.applicable else None,
                gate.threshold,
                gate.status_text,
                gate.summary,
                gate.distance,
            ]
        )
    return rows


GATE_HEADER = [
    "As of",
    "Scope",
    "Metric",
    "Label",
    "Gates phase",
    "Value",
    "Numerator",
    "Denominator",
    "Threshold",
    "Status",
    "In words",
    "What it takes",
]


def _export_scope(request: HttpRequest) -> Department | None:
    """The department ``?department=`` names (members may export theirs), else the organisation
    (executives only)."""
    user = signed_in(request)
    slug = (request.GET.get("department") or "").strip()
    if slug:
        return phase_selectors.phase_department_get_for_user(user=user, slug=slug)
    _require_executive(user)
    return None


@require_GET
def export_csv(request: HttpRequest, what: str) -> HttpResponse | StreamingHttpResponse:
    chosen = _export_scope(request)
    scope_name = chosen.name if chosen else "Organisation"
    suffix = f"-{chosen.slug}" if chosen else ""
    if what == "gates":
        latest = phase_selectors.phase_snapshot_latest(department=chosen)
        rows = _gate_rows(scope_name, latest.result) if latest else []
        return csv_response(filename=f"engage-gates{suffix}.csv", header=GATE_HEADER, rows=rows)
    if what == "departments":
        if chosen is not None:
            raise PermissionDenied("The heat map is the organisation's.")
        latest = phase_selectors.phase_snapshot_latest()
        results = [r.result for r in phase_selectors.phase_snapshots_of_day(day=latest.day)] if latest else []
        table: list[list[Any]] = []
        for result in results:
            table.extend(_gate_rows(result["department"]["name"], result))
        return csv_response(filename="engage-departments.csv", header=GATE_HEADER, rows=table)
    if what == "history":
        try:
            days = selectors.history_days(request.GET.get("days"))
        except ValueError as exc:
            return _bad_request(request, str(exc))
        snapshots = list(phase_selectors.phase_history(days=days, department=chosen))
        chart = presentation.history_chart(snapshots)
        header = ["Day", "Phase", "Raw phase", *[line["label"] for line in chart["metrics"]]]
        lines = []
        for i, day in enumerate(chart["days"]):
            lines.append(
                [
                    day,
                    chart["names"][str(chart["phase"][i])],
                    chart["names"][str(chart["raw"][i])],
                    *[line["values"][i] for line in chart["metrics"]],
                ]
            )
        return csv_response(filename=f"engage-history{suffix}-{days}d.csv", header=header, rows=lines)
    return _bad_request(request, "Export gates, departments or history.")


# --- Leaderboard --------------------------------------------------------------------------------------


@require_GET
@never_cache
def leaderboard(request: HttpRequest) -> HttpResponse:
    user = signed_in(request)
    board = (request.GET.get("board") or boards.EVERYONE).strip()
    try:
        days = boards.window_days_of(request.GET.get("days"))
        found = boards.leaderboard(viewer=user, board=board, days=days)
    except ValueError as exc:
        return _bad_request(request, str(exc))
    context = {
        "board": found,
        "choices": boards.board_choices(),
        "day_choices": boards.WINDOW_CHOICES,
        "points": boards.points_table(),
        "opted_out": boards.opted_out(user=user),
        "my_ratings": boards.my_ratings(user=user, days=days),
    }
    return render(request, "engage/dashboard/leaderboard.html", context)


def _back_to_board(request: HttpRequest) -> HttpResponse:
    query = urlencode({k: request.POST[k] for k in ("board", "days") if request.POST.get(k)})
    return redirect(reverse("dashboard:leaderboard") + (f"?{query}" if query else ""))


@require_POST
def leaderboard_leave(request: HttpRequest) -> HttpResponse:
    services.leaderboard_opt_out(user=signed_in(request))
    flash.success(request, "You are off the leaderboard. Only you see your points now.")
    return _back_to_board(request)


@require_POST
def leaderboard_join(request: HttpRequest) -> HttpResponse:
    services.leaderboard_opt_in(user=signed_in(request))
    flash.success(request, "You are back on the leaderboard.")
    return _back_to_board(request)
