"""What engage listens to. Placeholder until the services land."""

from __future__ import annotations


def connect() -> None:
    return None
