from typing import Any

from django.db.models import QuerySet
from rest_framework import serializers
from rest_framework.pagination import CursorPagination, PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

MAX_PAGE_SIZE = 200


class Pagination(PageNumberPagination):
    """`results` and `next`; `page_size` may be asked for, capped at 200."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE


class KeysetPagination(CursorPagination):
    """Keyset pagination for long, hot lists (queues): cost does not grow with depth."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
    ordering = "-id"


class PaginatedAPIView(APIView):
    """An APIView with a paginated list answer (``results``, ``next``; ``page_size`` ≤ 200)."""

    pagination_class = Pagination

    def paginated(
        self,
        request: Request,
        queryset: QuerySet[Any],
        serializer_class: type[serializers.Serializer[Any]],
        *,
        context: dict[str, Any] | None = None,
    ) -> Response:
        """The page of ``queryset`` the request asks for, each row by ``serializer_class`` (given ``context``)."""
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response(serializer_class(page, many=True, context=context or {}).data)
