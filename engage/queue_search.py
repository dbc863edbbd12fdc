"""The queue's search and its extra filters: words of the query's text, channel, priority,
overdue. Applied on top of ``engage.selectors.query_list`` (visibility, status, department,
topic, "mine"), in the same one statement: nothing here adds a query per row or per page.

Search is PostgreSQL's full-text search with the messaging search's dictionary
(``content.selectors.SEARCH_CONFIG``) over an expression GIN index on the text
(``query_text_search_idx``); every word must match (stemmed: "refunds" finds "refund").
On another database a plain case-insensitive match of every word stands in.
"""

from __future__ import annotations

from datetime import datetime
from functools import reduce

from django.db import connection
from django.db.models import Q, QuerySet

from engage.models import Priority, Query, QueryState

MAX_SEARCH_LENGTH = 200


def search_text_vector() -> object:
    """The indexed expression (the index and the filter must be the very same expression)."""
    from django.contrib.postgres.search import SearchVector

    from content.selectors import SEARCH_CONFIG

    return SearchVector("text", config=SEARCH_CONFIG)


def narrow(
    queries: QuerySet[Query],
    *,
    text: str = "",
    channel: str = "",
    priority: str = "",
    overdue: bool = False,
    now: datetime,
) -> QuerySet[Query]:
    """``queries`` with only the rows matching every filter given."""
    from content.selectors import SEARCH_CONFIG, search_terms

    terms = search_terms(text[:MAX_SEARCH_LENGTH])
    if terms:
        if connection.vendor == "postgresql":
            from django.contrib.postgres.search import SearchQuery

            wanted = reduce(
                lambda left, right: left & right,
                [SearchQuery(term, search_type="plain", config=SEARCH_CONFIG) for term in terms],
            )
            queries = queries.annotate(text_search=search_text_vector()).filter(text_search=wanted)
        else:
            queries = queries.filter(reduce(lambda left, right: left & right, [Q(text__icontains=t) for t in terms]))
    if channel:
        queries = queries.filter(channel__slug=channel)
    if priority in Priority.values:
        queries = queries.filter(priority=priority)
    if overdue:
        queries = queries.filter(sla_due_at__lt=now, state__in=[QueryState.OPEN, QueryState.PENDING_REVIEW])
    return queries
