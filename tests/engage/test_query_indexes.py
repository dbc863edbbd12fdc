"""``engage_query``'s indexes: only those a measured statement uses (bench/RESULTS.md).

Every claim rewrites its row, so each index is one more write per claim. The set is pinned
here: a new index must say which statement needs it. The foreign keys set on few rows
(who closed or escalated a query, the department it came from) have partial indexes, so a
row naming none is in none of them, yet deleting a person or a department still finds the
rows that name them through an index.
"""

from __future__ import annotations

import pytest
from django.db import connection, transaction

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

QUERY_INDEXES = {
    "engage_query_pkey",
    "query_channel_external_unique",  # a webhook's dedupe
    "query_open_queue_idx",  # a department's open queue
    "query_open_all_idx",  # every open query (sees-all scope)
    "query_claimed_by_idx",  # the claim cap, "mine"
    "query_dept_state_idx",  # lists by status
    "query_received_idx",  # metrics over a window
    "query_sla_watch_idx",  # the breach job
    "query_closed_by_idx",
    "query_escalated_by_idx",
    "query_escalated_from_idx",
}


def _indexes() -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'engage_query'")
        return dict(cursor.fetchall())


def test_engage_query_carries_only_the_indexes_its_statements_use():
    assert set(_indexes()) == QUERY_INDEXES


@pytest.mark.parametrize(
    ("column", "index"),
    [
        ("closed_by_id", "query_closed_by_idx"),
        ("escalated_by_id", "query_escalated_by_idx"),
        ("escalated_from_id", "query_escalated_from_idx"),
    ],
)
def test_rarely_set_foreign_keys_have_partial_indexes_that_serve_on_delete(column, index):
    assert f"WHERE ({column} IS NOT NULL)" in _indexes()[index]
    # The statement Django's deletion collector sends for on_delete=SET_NULL.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN UPDATE engage_query SET {column} = NULL WHERE {column} IN (1, 2)")  # noqa: S608
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert index in plan
