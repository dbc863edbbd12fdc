# The queue's search (engage.queue_search): a GIN index over the very expression the search
# filters on, on PostgreSQL only (SQLite matches words without an index).

from django.db import migrations

INDEX = "query_text_search_idx"


def create_search_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON engage_query "
            "USING gin (to_tsvector('english'::regconfig, COALESCE(text, '')))"
        )


def drop_search_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [
        ("engage", "0008_answer_rating"),
    ]

    operations = [
        migrations.RunPython(create_search_index, drop_search_index),
    ]
