"""The phase and participation API (API.md, "Phase and participation").

Thin views over :mod:`engage.phase.selectors` (reads: snapshots and rollups only) and
:mod:`engage.phase.services` (writes). Visibility first (404), then role (403), then input (400).
"""

from __future__ import annotations

import json
import uuid
from datetime import date, timedelta
from typing import Any

from django.db import transaction
from django.db.models import TextField
from django.db.models.functions import Cast
from django.http import Http404, HttpResponse
from django.utils import timezone
from django.utils.dateparse import parse_date
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import RoleName
from accounts.permissions import IsAdmin, IsExecutive, signed_in
from config.jobs import enqueue
from config.pagination import MAX_PAGE_SIZE, Pagination
from engage.phase import selectors, services
from engage.phase.definitions import GATE_KEYS, PHASE_NAMES

DETAIL = inline_serializer("PhaseDetail", {"detail": serializers.CharField()})
BAD_INPUT = OpenApiResponse(OpenApiTypes.OBJECT, description="Invalid input; the answer names the field.")
NOT_FOUND = OpenApiResponse(DETAIL, description="No such department, or not yours to see.")
FORBIDDEN = OpenApiResponse(DETAIL, description="Needs the executive or admin role.")


# --- Output shapes (documentation of what the views return) ---------------------------------------


class DepartmentRef(serializers.Serializer[Any]):
    slug = serializers.SlugField()
    name = serializers.CharField()
    kind = serializers.CharField()
    customer_facing = serializers.BooleanField()


class GateOutput(serializers.Serializer[Any]):
    key = serializers.ChoiceField(choices=[(key, key) for key in GATE_KEYS])
    label = serializers.CharField()  # type: ignore[assignment]
    phase = serializers.IntegerField(
        allow_null=True, help_text="The phase it gates; null for a metric that gates nothing."
    )
    value = serializers.FloatField(allow_null=True, help_text="Null when undefined (denominator 0) or not applicable.")
    numerator = serializers.FloatField(allow_null=True)
    denominator = serializers.FloatField(allow_null=True, help_text="Null for a count that is not a ratio.")
    threshold = serializers.FloatField(allow_null=True)
    met = serializers.BooleanField(allow_null=True, help_text="Null when not applicable; undefined is never met.")
    applicable = serializers.BooleanField()
    summary = serializers.CharField(help_text="The figure in words.")
    distance = serializers.CharField(required=False, help_text="For an unmet gate: what it takes, in words.")


class UnmetGateOutput(serializers.Serializer[Any]):
    key = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    phase = serializers.IntegerField()
    value = serializers.FloatField(allow_null=True)
    threshold = serializers.FloatField(allow_null=True)
    distance = serializers.CharField()


class NextPhaseOutput(serializers.Serializer[Any]):
    phase = serializers.IntegerField()
    name = serializers.CharField()
    reachable = serializers.BooleanField(help_text="False when none of its gates apply (a department).")
    summary = serializers.CharField()
    unmet = UnmetGateOutput(many=True, help_text="Every unmet gate the next phase needs, lowest phase first.")


class StabilityOutput(serializers.Serializer[Any]):
    previous_phase = serializers.IntegerField(allow_null=True)
    recent_raw_phases = serializers.ListField(child=serializers.IntegerField())
    rule = serializers.ChoiceField(choices=["first", "raised", "lowered", "held"])
    summary = serializers.CharField()


class PhaseResultOutput(serializers.Serializer[Any]):
    scope = serializers.ChoiceField(choices=["organisation", "department"])
    department = DepartmentRef(allow_null=True)
    phase = serializers.IntegerField(min_value=1, max_value=4)
    name = serializers.ChoiceField(choices=list(PHASE_NAMES.values()))
    raw_phase = serializers.IntegerField(min_value=1, max_value=4)
    raw_name = serializers.CharField()
    as_of = serializers.DateField()
    window_days = serializers.IntegerField()
    stability_days = serializers.IntegerField()
    thresholds = serializers.DictField(child=serializers.FloatField(allow_null=True))
    gates = GateOutput(many=True)
    metrics = GateOutput(many=True, help_text="Metrics that gate nothing (contribution_evenness by default).")
    next_phase = NextPhaseOutput(allow_null=True)
    stability = StabilityOutput()
    notes = serializers.ListField(child=serializers.CharField())
    backfilled = serializers.BooleanField()
    computed_at = serializers.DateTimeField()


class OrganisationResultOutput(PhaseResultOutput):
    departments = PhaseResultOutput(many=True)


class HistoryPageOutput(serializers.Serializer[Any]):
    results = PhaseResultOutput(many=True)
    next = serializers.CharField(allow_null=True)


class ConfigOutput(serializers.Serializer[Any]):
    window_days = serializers.IntegerField()
    stability_days = serializers.IntegerField()
    thresholds = serializers.DictField(child=serializers.FloatField(allow_null=True))


class ConfigInput(serializers.Serializer[Any]):
    window_days = serializers.IntegerField(required=False, min_value=1, max_value=365)
    stability_days = serializers.IntegerField(required=False, min_value=1, max_value=90)
    thresholds = serializers.DictField(
        child=serializers.FloatField(allow_null=True),
        required=False,
        help_text=f"gate key → threshold; gate keys: {', '.join(GATE_KEYS)}",
    )


class ParticipationRow(serializers.Serializer[Any]):
    department = serializers.CharField(required=False, allow_null=True)
    day = serializers.DateField(required=False)
    kind = serializers.CharField(required=False)
    events = serializers.IntegerField()


class ParticipationOutput(serializers.Serializer[Any]):
    results = ParticipationRow(many=True)


# --- Views -------------------------------------------------------------------------------------------


class ExecutiveReadsAdminWrites(BasePermission):
    message = "Reading needs the executive or admin role; changing needs the admin role."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        role = RoleName.EXECUTIVE if request.method in SAFE_METHODS else RoleName.ADMIN
        return bool(user.has_role(role))


class PhaseApi(APIView):
    permission_classes = [IsExecutive]

    @extend_schema(
        operation_id="phase_organisation",
        summary="The organisation's latest phase, with every department's",
        responses={200: OrganisationResultOutput, 403: FORBIDDEN},
    )
    def get(self, request: Request) -> Response:
        services.phase_ensure_computed()
        return Response(selectors.phase_organisation_result())


class PhaseDepartmentApi(APIView):
    @extend_schema(
        operation_id="phase_department",
        summary="One department's latest phase (executives, admins and its members)",
        responses={200: PhaseResultOutput, 404: NOT_FOUND},
    )
    def get(self, request: Request, slug: str) -> Response:
        department = selectors.phase_department_get_for_user(user=signed_in(request), slug=slug)
        result = selectors.phase_department_result(department=department)
        if result is None:  # no snapshot yet, or a department made since the last one
            services.phase_ensure_computed()
            result = selectors.phase_department_result(department=department)
            if result is None:
                today = timezone.localdate()
                services.phase_recompute(first=today, last=today)
                result = selectors.phase_department_result(department=department)
        if result is None:
            raise Http404("No result for this department yet")
        return Response(result)


class HistoryPagination(Pagination):
    page_size = MAX_PAGE_SIZE  # 90 days (the default) in one page; 730 in four


class PhaseHistoryApi(APIView):
    permission_classes = [IsExecutive]

    @extend_schema(
        operation_id="phase_history",
        summary="One snapshot a day, oldest first",
        parameters=[
            OpenApiParameter(
                "days", int, description=f"1…{selectors.HISTORY_MAX_DAYS}; {selectors.HISTORY_DEFAULT_DAYS} by default"
            ),
            OpenApiParameter("department", str, description="a department's slug: its snapshots instead"),
            OpenApiParameter("page_size", int, description=f"at most {MAX_PAGE_SIZE}"),
        ],
        responses={200: HistoryPageOutput, 400: BAD_INPUT, 403: FORBIDDEN},
    )
    def get(self, request: Request) -> HttpResponse:
        try:
            days = selectors.history_days(request.query_params.get("days"))
        except ValueError as exc:
            raise ValidationError({"days": [str(exc)]}) from None
        department = None
        slug = request.query_params.get("department")
        if slug:
            department = selectors.phase_department_get_for_user(user=signed_in(request), slug=slug)
        # Each stored result is already the JSON the contract asks for: pass its text through
        # rather than decoding and encoding ~6 KB per day (the bulk of this call's cost).
        results_json = selectors.phase_history(days=days, department=department).annotate(
            result_json=Cast("result", TextField())
        )
        paginator = HistoryPagination()
        page = paginator.paginate_queryset(results_json.values_list("result_json", flat=True), request, view=self)
        assert paginator.page is not None  # set by paginate_queryset (or it raised NotFound)
        envelope = json.dumps(
            {
                "count": paginator.page.paginator.count,
                "next": paginator.get_next_link(),
                "previous": paginator.get_previous_link(),
            }
        )
        body = f'{envelope[:-1]}, "results": [{",".join(page or [])}]}}'
        return HttpResponse(body, content_type="application/json")


class PhaseConfigApi(APIView):
    permission_classes = [ExecutiveReadsAdminWrites]

    @extend_schema(
        operation_id="phase_config",
        summary="The phase engine's configuration",
        responses={200: ConfigOutput, 403: FORBIDDEN},
    )
    def get(self, request: Request) -> Response:
        return Response(selectors.phase_config_current())

    @extend_schema(
        operation_id="phase_config_replace",
        summary="Replace the configuration (gates left out of thresholds go back to their defaults); audited",
        request=ConfigInput,
        responses={200: ConfigOutput, 400: BAD_INPUT, 403: FORBIDDEN},
    )
    def put(self, request: Request) -> Response:
        return Response(services.phase_config_update(user=signed_in(request), data=request.data, partial=False))

    @extend_schema(
        operation_id="phase_config_update",
        summary="Change what is named; audited",
        request=ConfigInput,
        responses={200: ConfigOutput, 400: BAD_INPUT, 403: FORBIDDEN},
    )
    def patch(self, request: Request) -> Response:
        return Response(services.phase_config_update(user=signed_in(request), data=request.data, partial=True))


class PhaseRecomputeApi(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        operation_id="phase_recompute",
        summary="Start computing today's snapshots (and ?backfill=N past days)",
        request=None,
        parameters=[OpenApiParameter("backfill", int, description=f"0…{selectors.HISTORY_MAX_DAYS} past days")],
        responses={
            202: inline_serializer("PhaseRecomputeJob", {"job": serializers.CharField()}),
            400: BAD_INPUT,
            403: FORBIDDEN,
        },
    )
    def post(self, request: Request) -> Response:
        raw = request.query_params.get("backfill", "0")
        try:
            backfill = int(raw)
        except ValueError:
            raise ValidationError({"backfill": ["backfill must be a whole number of days"]}) from None
        if not 0 <= backfill <= selectors.HISTORY_MAX_DAYS:
            raise ValidationError({"backfill": [f"backfill must be between 0 and {selectors.HISTORY_MAX_DAYS}"]})
        job = uuid.uuid4().hex
        with transaction.atomic():
            enqueue("engage.phase_recompute", backfill=backfill, job=job)
        return Response({"job": job}, status=status.HTTP_202_ACCEPTED)


def _day(request: Request, name: str, default: date) -> date:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    try:
        parsed = parse_date(raw)
    except ValueError:
        parsed = None
    if parsed is None:
        raise ValidationError({name: ["Give a day as YYYY-MM-DD."]})
    return parsed


class ParticipationApi(APIView):
    permission_classes = [IsExecutive]

    @extend_schema(
        operation_id="participation",
        summary="Participation events from the daily rollups, grouped",
        parameters=[
            OpenApiParameter(
                "from", OpenApiTypes.DATE, description="first day, inclusive (29 days before `to` by default)"
            ),
            OpenApiParameter("to", OpenApiTypes.DATE, description="last day, inclusive (today by default)"),
            OpenApiParameter("group_by", str, description="any of department, day, kind, comma-separated"),
        ],
        responses={200: ParticipationOutput, 400: BAD_INPUT, 403: FORBIDDEN},
    )
    def get(self, request: Request) -> Response:
        last = _day(request, "to", timezone.localdate())
        first = _day(request, "from", last - timedelta(days=29))
        if first > last:
            raise ValidationError({"from": ["from must not be after to"]})
        if (last - first).days + 1 > selectors.PARTICIPATION_MAX_DAYS:
            raise ValidationError({"from": [f"at most {selectors.PARTICIPATION_MAX_DAYS} days at once"]})
        try:
            group_by = selectors.parse_group_by(request.query_params.get("group_by"))
        except ValueError as exc:
            raise ValidationError({"group_by": [str(exc)]}) from None
        return Response({"results": selectors.participation_counts(first=first, last=last, group_by=group_by)})
