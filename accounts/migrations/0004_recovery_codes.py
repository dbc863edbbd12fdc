"""Recovery codes move out of django-otp's StaticToken (which keeps them as plain text)
into ``RecoveryCode``, where only an HMAC-SHA256 keyed from SECRET_KEY is stored.

The data step hashes every existing code the same way ``accounts.services.recovery_code_hash``
does (the formula is repeated here so that later changes to the service cannot change what
this migration did), then deletes the plain-text rows. It cannot be reversed: the plain
codes are gone, and going back leaves people without recovery codes (they make new ones by
setting up their authenticator again).
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models
from django.utils.crypto import salted_hmac

RECOVERY_CODE_SALT = "engage.recovery-code"


def hash_code(code: str) -> str:
    normal = "".join(code.split()).replace("-", "").lower()
    return salted_hmac(RECOVERY_CODE_SALT, normal, algorithm="sha256").hexdigest()


def hash_plain_codes(apps, schema_editor):  # type: ignore[no-untyped-def]
    StaticToken = apps.get_model("otp_static", "StaticToken")
    StaticDevice = apps.get_model("otp_static", "StaticDevice")
    RecoveryCode = apps.get_model("accounts", "RecoveryCode")
    rows = [
        RecoveryCode(user_id=user_id, code_hash=hash_code(token))
        for user_id, token in StaticToken.objects.values_list("device__user_id", "token").iterator()
    ]
    RecoveryCode.objects.bulk_create(rows, batch_size=1000)
    StaticToken.objects.all().delete()
    StaticDevice.objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_account_events"),
        ("otp_static", "0003_add_timestamps"),
    ]

    operations = [
        migrations.CreateModel(
            name="RecoveryCode",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("code_hash", models.CharField(max_length=64)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("used_at", models.DateTimeField(blank=True, null=True)),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="recovery_codes",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "indexes": [models.Index(fields=["user", "used_at"], name="recoverycode_user_idx")],
            },
        ),
        migrations.RunPython(hash_plain_codes, migrations.RunPython.noop, elidable=False),
    ]
