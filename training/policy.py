"""Who may do what to training's courses (see :mod:`config.policy`).

Pure functions of the person, the course and the time: ``None`` when allowed, else a
:class:`~config.policy.Refusal` (403 when the person may not, 409 when the course's state
forbids). Seeing the course is :func:`training.selectors.course_get_for_user`'s business
(404) and comes first. ``training.services`` enforces them; the curators' pages and the
API read them to decide which actions to offer. Each function checks the person before
the state, so a conflict means the person was not the obstacle.

Curators manage every course, whoever wrote it (a course has no review step, so there is
no "own work" rule here).
"""

from __future__ import annotations

from accounts.models import RoleName, User
from config.policy import Refusal
from training.models import Course, CourseStatus

NOT_CURATOR = Refusal("Managing courses needs the curator role.")


def _label(course: Course) -> str:
    return CourseStatus(course.status).label.lower()


def course_manage(user: User) -> Refusal | None:
    """Curators (and admins) write courses, see their answer keys and their completion reports."""
    if user.is_authenticated and user.has_role(RoleName.CURATOR):
        return None
    return NOT_CURATOR


def course_update(user: User, course: Course) -> Refusal | None:
    """A draft changes in place; a published course changes through a new version."""
    refusal = course_manage(user)
    if refusal is not None:
        return refusal
    if course.status != CourseStatus.DRAFT:
        return Refusal(
            f"This course is {_label(course)}, so it is not changed directly: "
            "start a new version of it, edit that and publish it.",
            conflict=True,
        )
    return None


def course_publish(user: User, course: Course) -> Refusal | None:
    """A curator publishes a draft (the draft of a new version publishes into its course)."""
    refusal = course_manage(user)
    if refusal is not None:
        return refusal
    if course.status != CourseStatus.DRAFT:
        return Refusal(f"This course is {_label(course)}; only a draft can be published.", conflict=True)
    return None


def course_new_version(user: User, course: Course) -> Refusal | None:
    """A curator starts (or goes back to) the next version of a published course."""
    refusal = course_manage(user)
    if refusal is not None:
        return refusal
    if course.edition_of_id is not None or course.status == CourseStatus.DRAFT:
        return Refusal("This course is a draft: edit it as it is and publish it when it is ready.", conflict=True)
    if course.status != CourseStatus.PUBLISHED:
        return Refusal("This course is archived: nobody can take it, so it gets no new version.", conflict=True)
    return None


def course_archive(user: User, course: Course) -> Refusal | None:
    """A curator withdraws a published course; its certificates stay."""
    refusal = course_manage(user)
    if refusal is not None:
        return refusal
    if course.status != CourseStatus.PUBLISHED:
        return Refusal("Only a published course can be archived.", conflict=True)
    return None


def course_take(user: User, course: Course) -> Refusal | None:
    """Anyone who can see a published course works through it and answers its quiz."""
    if course.status != CourseStatus.PUBLISHED:
        return Refusal("This course is not published; it cannot be taken.", conflict=True)
    return None
