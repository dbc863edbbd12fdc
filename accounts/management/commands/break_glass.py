"""``manage.py break_glass EMAIL``: a one-use, 15-minute sign-in link for an administrator.

The way in for the bootstrap administrator when password sign-in is off
(``ENGAGE_PASSWORD_SIGN_IN=0``) and the identity provider is unreachable or misconfigured.
Whoever runs it has the server's shell already; the link's issue and use are audited.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts import services
from config.errors import ServiceError


class Command(BaseCommand):
    help = "Print a one-use sign-in link (valid 15 minutes) for an active administrator."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")

    def handle(self, *args: Any, email: str, **options: Any) -> None:
        try:
            link = services.break_glass_link(email=email)
        except ServiceError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(link)
