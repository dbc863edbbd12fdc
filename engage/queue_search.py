"""The queue's search and its extra filters: words of the conversation, channel, priority,
overdue. Applied on top of ``engage.selectors.query_list`` (visibility, status, department,
topic, "mine"), in the same one statement: nothing here adds a query per row or per page.

Search covers every customer message of a query's thread — the first one (the query's text)
and each follow-up — and nothing else: not the published answers (our own words, not what a
customer asked; and indexing them would add work to publishing, a measured hot path), not
internal notes. A query matches when each word appears somewhere in its thread, not
necessarily in one message ("refund card" finds a query whose first message asks for a
refund and whose follow-up names the card).

It is PostgreSQL's full-text search with the messaging search's dictionary
(``content.selectors.SEARCH_CONFIG``) over an expression GIN index on the message table
(``custmsg_text_search_idx``, migration 0012), stemmed ("refunds" finds "refund"). The index
is on the messages, not the query row: the webhook writes one vector per new query as it did
(the first message's, instead of the query's), follow-ups are found, and a claim — which
rewrites the query's row and every index on it — re-indexes no text. Each word is one
semi-join through that index. On another database a plain case-insensitive match of every
word stands in.
"""

from __future__ import annotations

from datetime import datetime

from django.db import connection
from django.db.models import Func, IntegerField, Q, QuerySet
from django.db.models.lookups import Exact

from engage.models import CustomerMessage, Priority, Query, QueryState

MAX_SEARCH_LENGTH = 200


def search_text_vector() -> object:
    """The indexed expression over a message's text (the index and the filter must be the very
    same expression)."""
    from django.contrib.postgres.search import SearchVector

    from content.selectors import SEARCH_CONFIG

    return SearchVector("text", config=SEARCH_CONFIG)


def matching(term: str) -> Q:
    """The queries one of whose customer messages holds ``term``.

    On PostgreSQL a word the dictionary drops (a stop word such as "before", which the
    shared list in ``content.selectors`` keeps) makes an empty text query that matches
    nothing; it is left out instead, as it was when the words made one text query.
    """
    messages = CustomerMessage.objects.order_by()
    if connection.vendor != "postgresql":
        return Q(pk__in=messages.filter(text__icontains=term).values("query_id"))
    from django.contrib.postgres.search import SearchQuery

    from content.selectors import SEARCH_CONFIG

    wanted = SearchQuery(term, search_type="plain", config=SEARCH_CONFIG)
    found = messages.annotate(text_search=search_text_vector()).filter(text_search=wanted).values("query_id")
    no_lexeme = Exact(Func(wanted, function="numnode", output_field=IntegerField()), 0)
    return Q(pk__in=found) | Q(no_lexeme)


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
    from content.selectors import search_terms

    for term in search_terms(text[:MAX_SEARCH_LENGTH]):
        queries = queries.filter(matching(term))
    if channel:
        queries = queries.filter(channel__slug=channel)
    if priority in Priority.values:
        queries = queries.filter(priority=priority)
    if overdue:
        queries = queries.filter(sla_due_at__lt=now, state__in=[QueryState.OPEN, QueryState.PENDING_REVIEW])
    return queries
