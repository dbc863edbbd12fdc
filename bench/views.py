"""The views the benchmark mounts (``ENGAGE_BENCH=1``), never otherwise.

- Q1 reads one row by primary key through the ORM and answers it as JSON, behind no
  authentication: what any view that touches the database costs at the least.
- The authenticated floor is the same read behind the API's own authentication (a bearer
  token) and permission: what any API call costs before it does its own work. Not a
  ceiling of QUALITY.md; it explains where the time of the authenticated paths goes.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.http import require_GET
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from engage.models import Query


def _row(pk: int) -> dict[str, Any]:
    try:
        query = Query.objects.get(pk=pk)
    except Query.DoesNotExist:
        raise Http404 from None
    return {
        "id": query.pk,
        "external_id": query.external_id,
        "priority": query.priority,
        "state": query.state,
        "received_at": query.received_at.isoformat(),
    }


@login_not_required
@require_GET
def q1(request: HttpRequest, pk: int) -> JsonResponse:
    return JsonResponse(_row(pk))


class AuthenticatedFloor(APIView):
    def get(self, request: Request, pk: int) -> Response:
        return Response(_row(pk))
