"""The rollup job's speed (QUALITY.md: 40,000 events/s on one worker): marking an event
folded becomes a HOT update. No index of the log mentions ``folded_at`` any more (the job
walks the primary key from ``RollupProgress.scan_from``), the table keeps half of each
page free for the new row versions (fillfactor 50, PostgreSQL), and the indexes that
other indexes already cover go (the foreign keys' own, the key's ``_like``).

The scan start of an existing log is put just below its first unfolded event, found
through the old index before it goes; the first run sweeps below it anyway.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

EVENTS = "engage_participationevent"


def start_below_the_first_unfolded_event(apps, schema_editor):
    ParticipationEvent = apps.get_model("engage", "ParticipationEvent")
    RollupProgress = apps.get_model("engage", "RollupProgress")
    first = (
        ParticipationEvent.objects.filter(folded_at__isnull=True).order_by("id").values_list("id", flat=True).first()
    )
    if first is None:
        first = (ParticipationEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    RollupProgress.objects.update_or_create(pk=1, defaults={"scan_from": first - 1})


def leave_room_for_hot_updates(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE {EVENTS} SET (fillfactor = 50)")


def pack_pages(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE {EVENTS} RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_roles"),
        ("engage", "0004_leaderboard_opt_out"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="RollupProgress",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("scan_from", models.BigIntegerField(default=0)),
                ("marks", models.JSONField(blank=True, default=list)),
                ("swept_at", models.DateTimeField(blank=True, null=True)),
            ],
        ),
        migrations.RunPython(start_below_the_first_unfolded_event, migrations.RunPython.noop),
        migrations.RunPython(leave_room_for_hot_updates, pack_pages),
        migrations.RemoveIndex(
            model_name="participationevent",
            name="pevent_unfolded_idx",
        ),
        migrations.AlterField(
            model_name="participationevent",
            name="actor",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterField(
            model_name="participationevent",
            name="department",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="accounts.department",
            ),
        ),
        migrations.AlterField(
            model_name="participationevent",
            name="key",
            field=models.CharField(max_length=200),
        ),
        migrations.AddConstraint(
            model_name="participationevent",
            constraint=models.UniqueConstraint(fields=("key",), name="pevent_key_unique"),
        ),
    ]
