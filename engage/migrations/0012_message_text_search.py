# The queue's search covers every customer message of a thread (engage.queue_search): the GIN
# index moves from the query's text to the message table, which holds the first message too
# (the webhook writes it with the query). The webhook still computes one text vector per new
# query, now for the message row instead of the query row; a claim, which rewrites the query's
# row and every index on it, no longer re-indexes the text. PostgreSQL only (SQLite matches
# words without an index). Built CONCURRENTLY: inbound messages keep being written meanwhile.

from django.db import migrations

MESSAGE_INDEX = "custmsg_text_search_idx"
QUERY_INDEX = "query_text_search_idx"
EXPRESSION = "USING gin (to_tsvector('english'::regconfig, COALESCE(text, '')))"


def move_search_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {MESSAGE_INDEX} ON engage_customermessage {EXPRESSION}"
        )
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {QUERY_INDEX}")


def move_it_back(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {QUERY_INDEX} ON engage_query {EXPRESSION}")
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {MESSAGE_INDEX}")


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY runs outside a transaction

    dependencies = [
        ("engage", "0011_query_partial_fk_indexes"),
    ]

    operations = [
        migrations.RunPython(move_search_index, move_it_back, elidable=False),
    ]
