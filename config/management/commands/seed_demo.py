"""Load the demo company: ``python manage.py seed_demo`` (``make run`` calls it).

The demo is built by an ordered list of steps, one per app, each a function
``step(*, rng: random.Random) -> str | None`` that loads its part in one transaction and
returns a line for the summary, or None when its part is already there (so a second run
adds nothing and is quick). Each step gets its own seeded random generator, so the demo is
the same on every machine and adding a step does not change what the others make.

An app adds its part with one line in ``SEED_STEPS``, after the steps it builds on.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.module_loading import import_string

SEED_STEPS: list[str] = [
    "accounts.demo.seed_people",
    "training.demo.seed_training",
    "content.demo.seed_content",
    "engage.demo.seed_engage",
    "engage.dashboard.demo.seed_phase",
]

SeedStep = Callable[..., str | None]


class Command(BaseCommand):
    help = "Load the demo company (idempotent: what is already there is left alone)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--url", default=settings.ENGAGE_SITE_URL + "/", help="where the demo is served")
        parser.add_argument(
            "--force", action="store_true", help="load it even with DEBUG off (demo people share a known password)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not options["force"]:
            raise CommandError(
                "seed_demo makes people with a published password: it runs only with DEBUG=1 (or --force)."
            )
        from accounts.demo import DEMO_ACCOUNTS, DEMO_PASSWORD

        started = time.monotonic()
        for path in SEED_STEPS:
            step: SeedStep = import_string(path)
            summary = step(rng=random.Random(f"engage-demo:{path}"))
            if summary:
                self.stdout.write(f"demo: {path}: {summary}")
        self.stdout.write(f"demo company ready ({time.monotonic() - started:.1f} s).")

        width = max(len(account.email) for account in DEMO_ACCOUNTS)
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"Engage: {options['url']}"))
        self.stdout.write(f"Sign in with any of these, password {DEMO_PASSWORD!r}:")
        for account in DEMO_ACCOUNTS:
            roles = ", ".join(account.roles) or "employee"
            self.stdout.write(f"  {account.email.ljust(width)}  {roles:<10} {account.what}")
        self.stdout.write("Every other demo person (name.surname@demo.engage) has the same password.")
        self.stdout.write("")
