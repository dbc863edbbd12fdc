# The approved messages an answer used, as a relation to content.Message (content landed).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('content', '0001_initial'),
        ('engage', '0001_initial'),
    ]

    operations = [
        migrations.RemoveField(
            model_name='answer',
            name='message_ids',
        ),
        migrations.AddField(
            model_name='answer',
            name='messages',
            field=models.ManyToManyField(blank=True, related_name='answers', to='content.message'),
        ),
    ]
