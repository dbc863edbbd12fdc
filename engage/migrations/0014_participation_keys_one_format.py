"""The participation log's keys in one format (``config.activity.activity_key``): content's
events were keyed ``content:<kind>:…`` and everyone else's ``<kind>:…``. The content events
already recorded lose the prefix, so a signal delivered again after this release still
finds its fact (no kind of engage's or training's starts with ``content:``, and no bare
content key exists yet, so no two keys collide)."""

from django.db import migrations

CONTENT_KINDS = "('message_published', 'message_shared', 'share_link_clicked', 'toolkit_item_used')"

FORWARD = f"""
UPDATE engage_participationevent SET key = substr(key, 9)
WHERE substr(key, 1, 8) = 'content:' AND kind IN {CONTENT_KINDS}
"""
BACKWARD = f"""
UPDATE engage_participationevent SET key = 'content:' || key
WHERE substr(key, 1, 8) <> 'content:' AND kind IN {CONTENT_KINDS}
"""


class Migration(migrations.Migration):
    dependencies = [("engage", "0013_connectors")]

    operations = [migrations.RunSQL(sql=FORWARD, reverse_sql=BACKWARD)]
