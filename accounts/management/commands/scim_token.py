"""``manage.py scim_token create NAME`` prints a new provisioning token (shown once);
``manage.py scim_token revoke PREFIX`` revokes one; ``manage.py scim_token list`` lists them.

The same as the admin's "SCIM provisioning tokens", for a deployment script. Audited.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts import services
from accounts.models import ScimToken
from config.errors import ServiceError


class Command(BaseCommand):
    help = "Make, revoke or list the bearer tokens identity providers provision people with (SCIM)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("create").add_argument("name")
        sub.add_parser("revoke").add_argument("prefix")
        sub.add_parser("list")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        if action == "create":
            try:
                issued = services.scim_token_create(name=options["name"], created_by=None)
            except ServiceError as exc:
                raise CommandError(exc.message) from None
            self.stdout.write(issued.token)
        elif action == "revoke":
            tokens = list(ScimToken.objects.filter(prefix=options["prefix"], revoked_at__isnull=True))
            if len(tokens) != 1:
                raise CommandError(f"{len(tokens)} live tokens start with {options['prefix']!r}; name exactly one.")
            services.scim_token_revoke(token=tokens[0], actor=None)
            self.stdout.write(f"Revoked {tokens[0]}.")
        else:
            for token in ScimToken.objects.order_by("id"):
                state = f"revoked {token.revoked_at:%Y-%m-%d}" if token.revoked_at else "live"
                self.stdout.write(f"{token.prefix}  {token.name}  {state}")
