"""Who may do what to content's toolkits and messages (see :mod:`config.policy`).

Pure functions of the person, the object and the time: ``None`` when allowed, else a
:class:`~config.policy.Refusal`. ``content.services`` enforces them; the pages read them
to decide which actions to offer.
"""

from __future__ import annotations

from datetime import datetime

from accounts.models import RoleName, User
from config.policy import Refusal, is_own_work
from content.models import Message, Status, Toolkit

NOT_CURATOR = Refusal("Writing messages needs the curator role.")
NOT_REVIEWER = Refusal("Reviewing messages needs the reviewer role.")


def _label(toolkit: Toolkit, now: datetime) -> str:
    return Status(toolkit.status_at(now)).label.lower()


def toolkit_submit(user: User, toolkit: Toolkit, now: datetime) -> Refusal | None:
    """A curator who wrote the toolkit (or an admin who is a curator) submits a draft."""
    if not user.has_role(RoleName.CURATOR):
        return NOT_CURATOR
    if user.pk != toolkit.author_id and not user.has_role(RoleName.ADMIN):
        return Refusal("Only the author submits a toolkit for review.")
    if toolkit.status != Status.DRAFT:
        return Refusal(f"A toolkit that is {_label(toolkit, now)} cannot be submitted.", conflict=True)
    return None


def toolkit_review(user: User, toolkit: Toolkit, now: datetime) -> Refusal | None:
    """A reviewer who did not write it approves or rejects a toolkit in review."""
    if not user.has_role(RoleName.REVIEWER):
        return NOT_REVIEWER
    if is_own_work(user.pk, toolkit.author_id):
        return Refusal("Authors cannot review their own toolkits.")
    if toolkit.status != Status.IN_REVIEW:
        return Refusal(f"This toolkit is {_label(toolkit, now)}, not in review.", conflict=True)
    return None


def toolkit_reopen(user: User, toolkit: Toolkit, now: datetime) -> Refusal | None:
    """A curator puts a toolkit that is not a draft back to draft."""
    if not user.has_role(RoleName.CURATOR):
        return NOT_CURATOR
    if toolkit.status == Status.DRAFT:
        return Refusal("This toolkit is already a draft.", conflict=True)
    return None


def message_is_own(user: User, message: Message) -> bool:
    """Whether the message is the person's own work: they wrote it or its newest revision
    (and so never review it; ``content.services`` refuses them)."""
    latest = message.latest_revision if message.latest_revision_id else None
    latest_author_id = latest.author_id if latest is not None else None
    return is_own_work(user.pk, message.author_id, latest_author_id)
