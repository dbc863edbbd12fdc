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


# Publishing an answer writes a row in each of these tables, so every index on them is one
# more write per answer: the same rule, pinned the same way (migration 0015).
ANSWER_WRITE_INDEXES = {
    "engage_answer": {
        "engage_answer_pkey",
        "engage_answer_query_id_5756ea8d",  # a query's answers
        "engage_answer_author_department_id_62c977c2",
        "answer_one_published_per_turn",
        "answer_one_in_review_per_query",
        "answer_review_queue_idx",  # partial: only answers awaiting review
        "answer_published_idx",
        "answer_author_idx",  # an author's answers (author first: also serves on_delete)
        "answer_reviewed_by_idx",  # partial: answers published at once have no reviewer
    },
    "engage_answerrevision": {
        "engage_answerrevision_pkey",
        "answer_revision_number_unique",  # an answer's revisions (answer first)
        "engage_answerrevision_author_id_496991b2",
        "answerrev_reviewed_by_idx",  # partial
    },
    "engage_delivery": {
        "engage_delivery_pkey",
        "delivery_status_idx",
        "delivery_one_per_answer",
        "delivery_one_per_insight_query",
        "engage_delivery_answer_id_e67c3a31",
        "engage_delivery_channel_id_61a9194c",
        "engage_delivery_query_id_a8f54572",
        "delivery_insight_idx",  # partial: an answer's delivery has no insight
    },
}


@pytest.mark.parametrize("table", sorted(ANSWER_WRITE_INDEXES))
def test_the_tables_an_answer_writes_carry_only_the_indexes_their_statements_use(table):
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = %s", [table])
        assert {row[0] for row in cursor.fetchall()} == ANSWER_WRITE_INDEXES[table]


@pytest.mark.parametrize(
    ("table", "column", "index"),
    [
        ("engage_answer", "reviewed_by_id", "answer_reviewed_by_idx"),
        ("engage_answer", "author_id", "answer_author_idx"),
        ("engage_answerrevision", "reviewed_by_id", "answerrev_reviewed_by_idx"),
        ("engage_answerrevision", "answer_id", "answer_revision_number_unique"),
        ("engage_delivery", "insight_id", "delivery_insight_idx"),
    ],
)
def test_deleting_a_person_answer_or_insight_still_finds_the_rows_through_an_index(table, column, index):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN SELECT id FROM {table} WHERE {column} IN (1, 2)")  # noqa: S608
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert index in plan


def test_the_review_queue_reads_its_partial_index_in_order():
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(
            "EXPLAIN SELECT id FROM engage_answer WHERE status = 'pending_review' AND author_id <> 1"
            " ORDER BY submitted_at, id LIMIT 50"
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "answer_review_queue_idx" in plan
