from django.db import migrations

ROLES = [
    ("employee", "Employee"),
    ("curator", "Curator"),
    ("reviewer", "Reviewer"),
    ("executive", "Executive"),
    ("admin", "Administrator"),
]


def create_roles(apps, schema_editor):
    Role = apps.get_model("accounts", "Role")
    for slug, name in ROLES:
        Role.objects.update_or_create(slug=slug, defaults={"name": name})


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]
    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
