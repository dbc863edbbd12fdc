"""Who may do what to content's toolkits and messages (see :mod:`config.policy`).

Pure functions of the person, the object and the time: ``None`` when allowed, else a
:class:`~config.policy.Refusal`. ``content.services`` enforces them; the pages read them
to decide which actions to offer.
"""

from __future__ import annotations

from datetime import datetime

from accounts.models import RoleName, User
from config.policy import Refusal, is_own_work
from content.models import APPROVED_STATUSES, Message, PendingStatus, Status, Toolkit

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


def message_label(message: Message, now: datetime) -> str:
    """A message's state in words, with its pending revision's when it has one."""
    label = Status(message.status_at(now)).label.lower()
    if message.pending_status:
        label += f" with a pending revision ({PendingStatus(message.pending_status).label.lower()})"
    return label


def _message_state(message: Message, now: datetime) -> tuple[tuple[str, str], ...]:
    return (("status", message.status_at(now)),)


def message_submit(user: User, message: Message, now: datetime) -> Refusal | None:
    """Whoever wrote the message or its newest revision sends a draft (or a live message's
    draft revision) to the reviewers."""
    if not message_is_own(user, message):
        return Refusal("Only the author submits a message for review.")
    if message.status == Status.DRAFT:
        return None
    if message.status in APPROVED_STATUSES and message.pending_status == PendingStatus.DRAFT:
        return None
    return Refusal(
        f"A message that is {message_label(message, now)} cannot be submitted.",
        conflict=True,
        details=_message_state(message, now),
    )


def message_review(user: User, message: Message, now: datetime) -> Refusal | None:
    """A reviewer who wrote neither the message nor its newest revision approves or rejects
    what is in review (a new message, or a live one's revision)."""
    if not user.has_role(RoleName.REVIEWER):
        return NOT_REVIEWER
    if message_is_own(user, message):
        return Refusal("Authors cannot review their own messages.")
    if message.status != Status.IN_REVIEW and message.pending_status != PendingStatus.IN_REVIEW:
        return Refusal(
            f"This message is {message_label(message, now)}, not in review.",
            conflict=True,
            details=_message_state(message, now),
        )
    return None
