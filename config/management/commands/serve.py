from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from config.embedded import EmbeddedScheduler


class Command(BaseCommand):
    help = "Serve Engage on its embedded defaults: the web server plus in-process scheduled jobs."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.CELERY_TASK_ALWAYS_EAGER:
            EmbeddedScheduler().start()
            self.stdout.write("Scheduled jobs run in this process (no REDIS_URL set).")
        else:
            self.stdout.write("REDIS_URL is set: run a Celery worker and beat for background jobs.")
        call_command("runserver", options["addrport"], use_reloader=False, use_threading=True)
