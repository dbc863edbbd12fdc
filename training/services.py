"""Writes for training: authoring courses, attempts, certifications, required training.

The API and the web pages call these same functions. Every time-dependent function takes
``now`` (default: the current time), so jobs and tests can run them at any moment.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from accounts.models import Department, User
from accounts.notifications import notify
from config.activity import ActivityKind, activity, activity_key, announce
from config.errors import Conflict, RateLimited, ServiceError
from config.policy import enforce
from training import policy, selectors
from training.models import (
    Attempt,
    Certification,
    Course,
    CourseStatus,
    Enrollment,
    Lesson,
    Module,
    ModuleProgress,
    Privilege,
    Question,
)
from training.signals import activity as activity_signal

logger = logging.getLogger(__name__)

ATTEMPT_LIMIT = 5
ATTEMPT_WINDOW = timedelta(hours=selectors.ATTEMPT_WINDOW_HOURS)
CERTIFICATION_REMINDER_DAYS = (30, 7, 1)
DUE_SOON_DAYS = 3
OVERDUE_REPEAT = timedelta(days=7)
MAX_DUE_DAYS = 3650
MAX_VALID_DAYS = 3650
MAX_CHOICES = 20
JOB_BATCH = 1000
_UNSET: Any = object()


# --- Authoring ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CertificationSpec:
    name: str
    grants: str
    valid_days: int


def _text(value: object, *, field: str, max_length: int, required: bool = True) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ServiceError(f"{field} must be text.", field=field)
    value = value.strip()
    if required and not value:
        raise ServiceError(f"{field} cannot be empty.", field=field)
    if len(value) > max_length:
        raise ServiceError(f"{field} is longer than {max_length} characters.", field=field)
    return value


def _whole_number(value: Any, *, field: str, minimum: int, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ServiceError(f"{field} must be a whole number.", field=field)
    if not minimum <= value <= maximum:
        raise ServiceError(f"{field} must be between {minimum} and {maximum}.", field=field)
    return value


def clean_pass_mark(value: Any) -> Decimal:
    """A fraction between 0 and 1 with at most three decimals (0.8, 0.75, 0.667)."""
    if isinstance(value, bool):
        raise ServiceError(
            "pass_mark must be a number between 0 and 1, such as 0.8 (80 % of the questions right).", field="pass_mark"
        )
    try:
        mark = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ServiceError(
            "pass_mark must be a number between 0 and 1, such as 0.8 (80 % of the questions right).", field="pass_mark"
        ) from None
    if not mark.is_finite() or not Decimal(0) <= mark <= Decimal(1):
        raise ServiceError(
            "pass_mark must be between 0 and 1, such as 0.8 (80 % of the questions right).", field="pass_mark"
        )
    if mark != mark.quantize(Decimal("0.001")):
        raise ServiceError("pass_mark may have at most three decimals, such as 0.667.", field="pass_mark")
    return mark


def clean_certification(value: Any) -> CertificationSpec | None:
    if value in (None, {}):
        return None
    if not isinstance(value, dict):
        raise ServiceError("certification must be an object with name, grants and valid_days.", field="certification")
    unknown = sorted(set(value) - {"name", "grants", "valid_days"})
    if unknown:
        raise ServiceError(f"certification has unknown fields: {', '.join(unknown)}.", field="certification")
    name = _text(value.get("name"), field="certification.name", max_length=200)
    grants = value.get("grants") or ""
    if grants not in ("", *Privilege.values):
        raise ServiceError(
            f"certification.grants must be one of: {', '.join(Privilege.values)} (or empty).",
            field="certification.grants",
        )
    valid_days = _whole_number(
        value.get("valid_days"), field="certification.valid_days", minimum=1, maximum=MAX_VALID_DAYS
    )
    return CertificationSpec(name=name, grants=grants, valid_days=valid_days)


def clean_modules(value: Any) -> list[dict[str, Any]]:
    """Check the ``modules`` structure of API.md and return it normalised.

    Each error names where it is: ``modules[1].questions[0].correct``.
    """
    if not isinstance(value, list):
        raise ServiceError("modules must be a list.", field="modules")
    modules = []
    for m, module in enumerate(value):
        where = f"modules[{m}]"
        if not isinstance(module, dict):
            raise ServiceError(f"{where} must be an object with title, lessons and questions.", field=where)
        title = _text(module.get("title"), field=f"{where}.title", max_length=200)
        lessons_in = module.get("lessons", [])
        questions_in = module.get("questions", [])
        if not isinstance(lessons_in, list):
            raise ServiceError(f"{where}.lessons must be a list.", field=f"{where}.lessons")
        if not isinstance(questions_in, list):
            raise ServiceError(f"{where}.questions must be a list.", field=f"{where}.questions")
        lessons = []
        for n, lesson in enumerate(lessons_in):
            at = f"{where}.lessons[{n}]"
            if not isinstance(lesson, dict):
                raise ServiceError(f"{at} must be an object with title and body.", field=at)
            lessons.append(
                {
                    "title": _text(lesson.get("title"), field=f"{at}.title", max_length=200),
                    "body": _text(lesson.get("body"), field=f"{at}.body", max_length=100_000, required=False),
                }
            )
        questions = []
        for n, question in enumerate(questions_in):
            at = f"{where}.questions[{n}]"
            if not isinstance(question, dict):
                raise ServiceError(f"{at} must be an object with text, choices and correct.", field=at)
            text = _text(question.get("text"), field=f"{at}.text", max_length=2000)
            choices = question.get("choices")
            if not isinstance(choices, list) or not 2 <= len(choices) <= MAX_CHOICES:
                raise ServiceError(f"{at}.choices must be a list of 2 to {MAX_CHOICES} texts.", field=f"{at}.choices")
            choices = [_text(c, field=f"{at}.choices[{i}]", max_length=500) for i, c in enumerate(choices)]
            correct = question.get("correct")
            if not isinstance(correct, list) or not correct:
                raise ServiceError(f"{at}.correct must list the indexes of the right choices.", field=f"{at}.correct")
            for index in correct:
                if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(choices):
                    raise ServiceError(
                        f"{at}.correct: {index!r} is not the index of a choice (0 to {len(choices) - 1}).",
                        field=f"{at}.correct",
                    )
            if len(set(correct)) != len(correct):
                raise ServiceError(f"{at}.correct lists a choice twice.", field=f"{at}.correct")
            questions.append({"text": text, "choices": choices, "correct": sorted(correct)})
        modules.append({"title": title, "lessons": lessons, "questions": questions})
    return modules


def _departments(slugs: Any) -> list[Department]:
    if not isinstance(slugs, list) or not all(isinstance(s, str) for s in slugs):
        raise ServiceError("audience must be a list of department slugs.", field="audience")
    wanted = set(slugs)
    found = list(Department.objects.filter(slug__in=wanted))
    missing = sorted(wanted - {d.slug for d in found})
    if missing:
        raise ServiceError(f"Unknown departments in audience: {', '.join(missing)}.", field="audience")
    return found


def _check_required(required: bool, due_days: int | None) -> None:
    if required and due_days is None:
        raise ServiceError(
            "A required course needs due_days: how many days people have to complete it.", field="due_days"
        )


def _write_modules(course: Course, modules: list[dict[str, Any]]) -> None:
    """Replace the course's content with ``modules`` (the shape :func:`clean_modules` returns).

    Modules stay the same rows, position by position, so what learners worked through
    (``ModuleProgress``) carries over to a new version; lessons and questions are rewritten.
    """
    existing = {module.position: module for module in course.modules.all()}
    Lesson.objects.filter(module__course=course).delete()
    Question.objects.filter(module__course=course).delete()
    course.modules.filter(position__gte=len(modules)).delete()
    lessons, questions = [], []
    for m, spec in enumerate(modules):
        module = existing.get(m)
        if module is None:
            module = Module.objects.create(course=course, position=m, title=spec["title"])
        elif module.title != spec["title"]:
            module.title = spec["title"]
            module.save(update_fields=["title"])
        lessons += [Lesson(module=module, position=n, **lesson) for n, lesson in enumerate(spec["lessons"])]
        questions += [Question(module=module, position=n, **question) for n, question in enumerate(spec["questions"])]
    Lesson.objects.bulk_create(lessons)
    Question.objects.bulk_create(questions)


def _modules_of(course: Course) -> list[dict[str, Any]]:
    """The course's content in the shape :func:`_write_modules` takes."""
    content = selectors.course_with_content(course_id=course.pk)
    return [
        {
            "title": module.title,
            "lessons": [{"title": x.title, "body": x.body} for x in module.lessons.all()],
            "questions": [{"text": q.text, "choices": q.choices, "correct": q.correct} for q in module.questions.all()],
        }
        for module in content.modules.all()
    ]


# What a new version carries from its draft into the published course.
_VERSIONED_FIELDS = (
    "title",
    "description",
    "required",
    "due_days",
    "pass_mark",
    "certification_name",
    "certification_grants",
    "certification_valid_days",
)


def course_create(
    *,
    author: User,
    title: str,
    audience: list[str],
    pass_mark: Any,
    modules: Any,
    required: bool = False,
    due_days: int | None = None,
    certification: Any = None,
    description: str = "",
) -> Course:
    """A new draft course by a curator. ``audience`` is department slugs (empty: everyone)."""
    enforce(policy.course_manage(author))
    title = _text(title, field="title", max_length=200)
    description = _text(description, field="description", max_length=20_000, required=False)
    if due_days is not None:
        due_days = _whole_number(due_days, field="due_days", minimum=1, maximum=MAX_DUE_DAYS)
    _check_required(bool(required), due_days)
    mark = clean_pass_mark(pass_mark)
    spec = clean_certification(certification)
    cleaned = clean_modules(modules)
    departments = _departments(audience)
    now = timezone.now()
    with transaction.atomic():
        course = Course.objects.create(
            title=title,
            description=description,
            required=bool(required),
            due_days=due_days,
            pass_mark=mark,
            certification_name=spec.name if spec else "",
            certification_grants=spec.grants if spec else "",
            certification_valid_days=spec.valid_days if spec else None,
            created_by=author,
            created_at=now,
            updated_at=now,
        )
        course.audience.set(departments)
        _write_modules(course, cleaned)
    return course


def course_update(
    *,
    user: User,
    course_id: int,
    title: Any = _UNSET,
    description: Any = _UNSET,
    audience: Any = _UNSET,
    required: Any = _UNSET,
    due_days: Any = _UNSET,
    pass_mark: Any = _UNSET,
    certification: Any = _UNSET,
    modules: Any = _UNSET,
) -> Course:
    """A curator changes a draft; only what is passed changes (``modules`` are replaced whole)."""
    with transaction.atomic():
        course = selectors.course_get_for_user(user=user, id=course_id, lock=True)
        enforce(policy.course_update(user, course))
        if title is not _UNSET:
            course.title = _text(title, field="title", max_length=200)
        if description is not _UNSET:
            course.description = _text(description, field="description", max_length=20_000, required=False)
        if due_days is not _UNSET:
            course.due_days = (
                None if due_days is None else _whole_number(due_days, field="due_days", minimum=1, maximum=MAX_DUE_DAYS)
            )
        if required is not _UNSET:
            course.required = bool(required)
        _check_required(course.required, course.due_days)
        if pass_mark is not _UNSET:
            course.pass_mark = clean_pass_mark(pass_mark)
        if certification is not _UNSET:
            spec = clean_certification(certification)
            course.certification_name = spec.name if spec else ""
            course.certification_grants = spec.grants if spec else ""
            course.certification_valid_days = spec.valid_days if spec else None
        cleaned = clean_modules(modules) if modules is not _UNSET else None
        departments = _departments(audience) if audience is not _UNSET else None
        course.updated_at = timezone.now()
        course.save()
        if departments is not None:
            course.audience.set(departments)
        if cleaned is not None:
            _write_modules(course, cleaned)
    return course


def course_new_version(*, user: User, course_id: int) -> Course:
    """The draft of the next version of a published course, to edit and then publish.

    The first call copies the course (settings, audience, modules); later calls return
    that same draft, so there is one next version at a time. Learners keep taking the
    published version until the draft is published (:func:`course_publish`).
    """
    with transaction.atomic():
        course = selectors.course_get_for_user(user=user, id=course_id, lock=True)
        enforce(policy.course_new_version(user, course))
        existing = Course.objects.filter(edition_of=course).first()
        if existing is not None:
            return existing
        now = timezone.now()
        edition = Course.objects.create(
            **{name: getattr(course, name) for name in _VERSIONED_FIELDS},
            created_by=user,
            created_at=now,
            updated_at=now,
            version=course.version + 1,
            edition_of=course,
        )
        edition.audience.set(course.audience.all())
        _write_modules(edition, _modules_of(course))
    return edition


def course_publish(*, user: User, course_id: int, now: datetime | None = None) -> Course:
    """Publish a draft; a required course is assigned to its audience at once.

    The draft of a new version (``edition_of``) is published into the course it is a
    version of: that course takes its settings, audience and content and the next version
    number, and the draft goes away. Enrollments, attempts and certifications belong to
    the course, so completions and certificates carry over; progress through modules
    carries over module by module (by position). Returns the published course.
    """
    now = now or timezone.now()
    with transaction.atomic():
        seen = selectors.course_get_for_user(user=user, id=course_id)
        enforce(policy.course_publish(user, seen), conflicts=False)
        if seen.edition_of_id is not None:
            course, edition = _version_locked(edition=seen)
            return _publish_version_locked(course=course, edition=edition, user=user, now=now)
        course = Course.objects.select_for_update().get(pk=seen.pk)
        enforce(policy.course_publish(user, course))
        if not Question.objects.filter(module__course=course).exists():
            raise ServiceError("A course needs at least one question before it can be published.", field="modules")
        course.status = CourseStatus.PUBLISHED
        course.published_at = now
        course.published_by = user
        course.updated_at = now
        course.save(update_fields=["status", "published_at", "published_by", "updated_at"])
        if course.required:
            required_assignments_sync(course=course, now=now)
    return course


def _version_locked(*, edition: Course) -> tuple[Course, Course]:
    """Lock the published course ``edition`` is a version of, then the edition: the order
    :func:`course_new_version` locks in. Call inside a transaction."""
    assert edition.edition_of_id is not None
    course = Course.objects.select_for_update().get(pk=edition.edition_of_id)
    return course, Course.objects.select_for_update().get(pk=edition.pk)


def _publish_version_locked(*, course: Course, edition: Course, user: User, now: datetime) -> Course:
    """Publish ``edition`` into ``course``. Call holding both row locks (:func:`_version_locked`)."""
    if course.status != CourseStatus.PUBLISHED:
        raise Conflict(
            f"“{course.title}” was archived after this new version was started, so the version cannot be published."
        )
    if not Question.objects.filter(module__course=edition).exists():
        raise ServiceError("A course needs at least one question before it can be published.", field="modules")
    for name in _VERSIONED_FIELDS:
        setattr(course, name, getattr(edition, name))
    course.version = edition.version
    course.published_by = user
    course.updated_at = now
    course.save()
    course.audience.set(edition.audience.all())
    modules = _modules_of(edition)
    edition.delete()
    _write_modules(course, modules)
    if course.required:
        required_assignments_sync(course=course, now=now)
    return course


def course_archive(*, user: User, course_id: int) -> Course:
    """A curator withdraws a published course: nobody can take it any more; certificates stay."""
    with transaction.atomic():
        course = selectors.course_get_for_user(user=user, id=course_id, lock=True)
        enforce(policy.course_archive(user, course))
        course.status = CourseStatus.ARCHIVED
        course.updated_at = timezone.now()
        course.save(update_fields=["status", "updated_at"])
    return course


# --- Taking a course ------------------------------------------------------------------------------


def _enrollment_locked(*, user: User, course: Course, now: datetime) -> Enrollment:
    """The person's enrollment in the course, created if need be, locked. Call in a transaction."""
    Enrollment.objects.get_or_create(user=user, course=course, defaults={"created_at": now})
    return Enrollment.objects.select_for_update().get(user=user, course=course)


def module_complete(*, user: User, course_id: int, module_id: int, now: datetime | None = None) -> ModuleProgress:
    """Record that the person worked through a module of a published course they can see."""
    now = now or timezone.now()
    course = selectors.course_get_for_user(user=user, id=course_id)
    module = Module.objects.filter(course=course, pk=module_id).first()
    if module is None:
        raise ServiceError("No such module in this course.", field="module")
    enforce(policy.course_take(user, course))
    with transaction.atomic():
        Enrollment.objects.get_or_create(user=user, course=course, defaults={"created_at": now})
        progress, _created = ModuleProgress.objects.get_or_create(
            user=user, module=module, defaults={"completed_at": now}
        )
    return progress


def clean_answers(answers: Any, questions: list[Question]) -> list[list[int]]:
    """Check that ``answers`` is one list of choice indexes per question, in course order."""
    if not isinstance(answers, list):
        raise ServiceError(
            "answers must be a list with one list of chosen choice indexes per question.", field="answers"
        )
    if len(answers) != len(questions):
        raise ServiceError(
            f"answers has {len(answers)} item(s) but the course has {len(questions)} question(s).", field="answers"
        )
    cleaned = []
    for n, (chosen, question) in enumerate(zip(answers, questions, strict=True)):
        if not isinstance(chosen, list):
            raise ServiceError(f"answers[{n}] must be a list of choice indexes.", field="answers")
        for index in chosen:
            if isinstance(index, bool) or not isinstance(index, int):
                raise ServiceError(f"answers[{n}]: {index!r} is not a choice index.", field="answers")
            if not 0 <= index < len(question.choices):
                raise ServiceError(
                    f"answers[{n}]: choice {index} does not exist (question {n + 1} has "
                    f"{len(question.choices)} choices, 0 to {len(question.choices) - 1}).",
                    field="answers",
                )
        if len(set(chosen)) != len(chosen):
            raise ServiceError(f"answers[{n}] lists a choice twice.", field="answers")
        cleaned.append(sorted(chosen))
    return cleaned


def score_answers(answers: list[list[int]], questions: list[Question]) -> int:
    """How many questions are right: a question scores when the chosen set equals the correct set."""
    return sum(1 for chosen, question in zip(answers, questions, strict=True) if set(chosen) == set(question.correct))


NEW_VERSION_MESSAGE = (
    "This course has a new version since you opened the quiz, so nothing was submitted and no attempt was "
    "used. Read the questions again and answer them."
)


@dataclass(frozen=True)
class AttemptResult:
    attempt: Attempt
    certification: Certification | None


def attempt_submit(
    *, user: User, course_id: int, answers: Any, version: int | None = None, now: datetime | None = None
) -> AttemptResult:
    """Score an attempt on the server; a pass issues or renews the course's certification.

    404 for a course the person may not see; 409 for one not published; 400 for answers
    of the wrong shape; 429 when the person already made ``ATTEMPT_LIMIT`` attempts at
    the course in the last 24 hours (counted in the database, under a row lock).
    ``version``: the version of the course the answers were given to (the quiz page sends
    it); 409, and no attempt used, when a newer version was published since.
    """
    now = now or timezone.now()
    with transaction.atomic():
        course = selectors.course_get_for_user(user=user, id=course_id)
        enforce(policy.course_take(user, course))
        if version is not None and version != course.version:
            raise Conflict(NEW_VERSION_MESSAGE)
        questions = selectors.course_questions(course=course)
        if not questions:
            raise Conflict("This course has no questions.")
        # A new version published between reading the course and its questions: the
        # questions may be the new ones, so refuse rather than score against the wrong set.
        if not Course.objects.filter(pk=course.pk, version=course.version).exists():
            raise Conflict(NEW_VERSION_MESSAGE)
        chosen = clean_answers(answers, questions)
        enrollment = _enrollment_locked(user=user, course=course, now=now)
        recent = list(
            selectors.attempts_since(user=user, course=course, since=now - ATTEMPT_WINDOW)
            .order_by("created_at")
            .values_list("created_at", flat=True)[:ATTEMPT_LIMIT]
        )
        if len(recent) >= ATTEMPT_LIMIT:
            wait = int((recent[0] + ATTEMPT_WINDOW - now).total_seconds()) + 1
            raise RateLimited(
                f"You have made {ATTEMPT_LIMIT} attempts at this course in 24 hours. "
                f"Try again in {max(1, round(wait / 3600))} hour(s).",
                retry_after=max(1, wait),
            )
        correct = score_answers(chosen, questions)
        total = len(questions)
        passed = course.passes(correct=correct, total=total)
        attempt = Attempt.objects.create(
            user=user,
            course=course,
            answers=chosen,
            correct_count=correct,
            question_count=total,
            score=correct / total,
            passed=passed,
            course_version=course.version,
            created_at=now,
        )
        certification = None
        if passed:
            enrollment.completed_at = enrollment.completed_at or now
            enrollment.last_passed_at = now
            enrollment.save(update_fields=["completed_at", "last_passed_at"])
            announce(
                activity_signal,
                sender=Attempt,
                activity=activity(
                    kind=ActivityKind.COURSE_COMPLETED,
                    occurred_at=now,
                    object_type="training.course",
                    object_id=course.pk,
                    key=activity_key(ActivityKind.COURSE_COMPLETED, attempt.pk),
                    actor=user,
                    data={"course_id": course.pk, "score": attempt.score},
                ),
            )
            if course.grants_certification:
                certification = certification_issue(user=user, course=course, attempt=attempt, now=now)
    return AttemptResult(attempt=attempt, certification=certification)


def certification_issue(*, user: User, course: Course, attempt: Attempt | None, now: datetime) -> Certification:
    """Issue the course's certification, or renew it: valid for ``valid_days`` from ``now``.

    Call inside a transaction holding the person's enrollment lock for the course.
    """
    assert course.certification_valid_days, "the course grants no certification"
    current = (
        Certification.objects.select_for_update().filter(user=user, course=course, superseded_at__isnull=True).first()
    )
    if current is not None:
        if current.expires_at <= now and current.expiry_announced_at is None:
            # It lapsed before the expiry job saw it: the lapse still happened.
            _announce_expired(current, user=user, now=now)
        Certification.objects.filter(pk=current.pk).update(superseded_at=now)
    certification = Certification.objects.create(
        user=user,
        course=course,
        attempt=attempt,
        name=course.certification_name,
        grants=course.certification_grants,
        issued_at=now,
        expires_at=now + timedelta(days=course.certification_valid_days),
        renewal=current is not None,
    )
    _announce_certification(
        certification,
        kind=ActivityKind.CERTIFICATION_EARNED,
        user=user,
        at=now,
        key=activity_key(ActivityKind.CERTIFICATION_EARNED, certification.pk),
    )
    return certification


def _announce_certification(certification: Certification, *, kind: str, user: User, at: datetime, key: str) -> None:
    """A certification earned or lapsed, with what it grants and until when."""
    announce(
        activity_signal,
        sender=Certification,
        activity=activity(
            kind=kind,
            occurred_at=at,
            object_type="training.certification",
            object_id=certification.pk,
            key=key,
            actor=user,
            data={
                "course_id": certification.course_id,
                "grants": certification.grants,
                "expires_at": certification.expires_at.isoformat(),
                "renewal": certification.renewal,
            },
        ),
    )


def _announce_expired(certification: Certification, *, user: User, now: datetime) -> None:
    Certification.objects.filter(pk=certification.pk).update(expiry_announced_at=now)
    _announce_certification(
        certification,
        kind=ActivityKind.CERTIFICATION_EXPIRED,
        user=user,
        at=certification.expires_at,
        key=activity_key(ActivityKind.CERTIFICATION_EXPIRED, certification.pk, certification.expires_at),
    )


# --- Required training ----------------------------------------------------------------------------


def _course_url(course_id: int) -> str:
    return reverse("training:course", args=[course_id])


def _due_on(course: Course, now: datetime) -> date:
    assert course.due_days is not None
    return timezone.localdate(now) + timedelta(days=course.due_days)


def _assign(course: Course, user_ids: list[int], now: datetime, *, required: bool) -> int:
    due_on = _due_on(course, now)
    assigned = 0
    for start in range(0, len(user_ids), JOB_BATCH):
        chunk = user_ids[start : start + JOB_BATCH]
        Enrollment.objects.bulk_create(
            [
                Enrollment(
                    user_id=uid, course=course, created_at=now, assigned_at=now, due_on=due_on, required=required
                )
                for uid in chunk
            ],
            ignore_conflicts=True,
        )
        # People who had started the course on their own are assigned too.
        Enrollment.objects.filter(course=course, user_id__in=chunk, assigned_at__isnull=True).update(
            assigned_at=now, due_on=due_on, required=required
        )
        assigned += len(chunk)
        notify(
            user_ids=chunk,
            kind="training.course_assigned",
            title=f"Training assigned: {course.title}",
            body=f"Please complete “{course.title}” by {date_format(due_on, 'DATE_FORMAT')}.",
            url=_course_url(course.pk),
            dedupe_key=f"course_assigned:{course.pk}",
        )
    return assigned


def required_assignments_sync(*, course: Course | None = None, now: datetime | None = None) -> int:
    """Assign every published required course to the active people of its audience who
    do not have it yet (new joiners, people who moved department). Idempotent.

    An empty audience means everyone who belongs to a department. Returns how many
    assignments were made.
    """
    now = now or timezone.now()
    courses = Course.objects.filter(status=CourseStatus.PUBLISHED, required=True).prefetch_related("audience")
    if course is not None:
        courses = courses.filter(pk=course.pk)
    made = 0
    for required_course in courses:
        audience = [d.pk for d in required_course.audience.all()]
        people = User.objects.filter(is_active=True)
        people = people.filter(department_id__in=audience) if audience else people.filter(department__isnull=False)
        missing = list(
            people.exclude(
                Exists(
                    Enrollment.objects.filter(user_id=OuterRef("pk"), course=required_course, assigned_at__isnull=False)
                )
            )
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if missing:
            with transaction.atomic():
                made += _assign(required_course, missing, now, required=True)
    return made


def _open_assignments() -> Any:
    return Enrollment.objects.filter(
        assigned_at__isnull=False, completed_at__isnull=True, course__status=CourseStatus.PUBLISHED
    )


@dataclass(frozen=True)
class ReminderRun:
    due_soon: int = 0
    overdue_marked: int = 0
    overdue_reminded: int = 0


def assignments_remind(*, now: datetime | None = None) -> ReminderRun:
    """Remind people of assignments due within ``DUE_SOON_DAYS``; mark overdue ones and
    remind of them (again every week until done). Each reminder is sent once."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    due_soon = overdue_marked = overdue_reminded = 0

    with transaction.atomic():
        rows = list(
            _open_assignments()
            .filter(due_on__gte=today, due_on__lte=today + timedelta(days=DUE_SOON_DAYS))
            .exclude(due_reminded_for=F("due_on"))
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("course")
            .order_by("pk")[:JOB_BATCH]
        )
        groups: dict[tuple[int, date], list[Enrollment]] = defaultdict(list)
        for row in rows:
            assert row.due_on is not None
            groups[(row.course_id, row.due_on)].append(row)
        for (course_id, due_on), members in groups.items():
            title = members[0].course.title
            days = (due_on - today).days
            when = "today" if days == 0 else ("tomorrow" if days == 1 else f"in {days} days")
            notify(
                user_ids=[row.user_id for row in members],
                kind="training.assignment_due",
                title=f"Training due {when}: {title}",
                body=f"“{title}” is due on {date_format(due_on, 'DATE_FORMAT')}.",
                url=_course_url(course_id),
                dedupe_key=f"assignment_due:{course_id}:{due_on.isoformat()}",
            )
            Enrollment.objects.filter(pk__in=[row.pk for row in members]).update(due_reminded_for=due_on)
            due_soon += len(members)

    with transaction.atomic():
        rows = list(
            _open_assignments()
            .filter(due_on__lt=today)
            .filter(Q(overdue_at__isnull=True) | Q(overdue_reminded_at__lte=now - OVERDUE_REPEAT))
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("course")
            .order_by("pk")[:JOB_BATCH]
        )
        overdue_groups: dict[tuple[int, date, int], list[Enrollment]] = defaultdict(list)
        for row in rows:
            assert row.due_on is not None
            week = (today - row.due_on).days // 7
            overdue_groups[(row.course_id, row.due_on, week)].append(row)
        for (course_id, due_on, week), members in overdue_groups.items():
            title = members[0].course.title
            notify(
                user_ids=[row.user_id for row in members],
                kind="training.assignment_overdue",
                title=f"Training overdue: {title}",
                body=f"“{title}” was due on {date_format(due_on, 'DATE_FORMAT')}. Please complete it now.",
                url=_course_url(course_id),
                dedupe_key=f"assignment_overdue:{course_id}:{due_on.isoformat()}:{week}",
            )
            newly = [row.pk for row in members if row.overdue_at is None]
            again = [row.pk for row in members if row.overdue_at is not None]
            Enrollment.objects.filter(pk__in=newly).update(overdue_at=now, overdue_reminded_at=now)
            Enrollment.objects.filter(pk__in=again).update(overdue_reminded_at=now)
            overdue_marked += len(newly)
            overdue_reminded += len(again)
    return ReminderRun(due_soon=due_soon, overdue_marked=overdue_marked, overdue_reminded=overdue_reminded)


# --- Certification reminders and expiry ------------------------------------------------------------


def certification_reminders_send(*, now: datetime | None = None) -> int:
    """Remind holders 30, 7 and 1 day(s) before their current certification expires.

    Each interval is sent at most once per certification (``reminded_days`` records the
    smallest sent; notifications are de-duplicated by key as well). A certification
    issued with less time left skips the intervals already past. Returns how many sent.
    """
    now = now or timezone.now()
    sent = 0
    for days in sorted(CERTIFICATION_REMINDER_DAYS):
        with transaction.atomic():
            rows = list(
                Certification.objects.filter(
                    superseded_at__isnull=True, expires_at__gt=now, expires_at__lte=now + timedelta(days=days)
                )
                .filter(Q(reminded_days__isnull=True) | Q(reminded_days__gt=days))
                .select_for_update(skip_locked=True, of=("self",))
                .order_by("pk")[:JOB_BATCH]
            )
            for row in rows:
                expires_on = timezone.localdate(row.expires_at)
                left = (expires_on - timezone.localdate(now)).days
                when = "today" if left <= 0 else ("tomorrow" if left == 1 else f"in {left} days")
                notify(
                    user_ids=[row.user_id],
                    kind="training.certification_expiring",
                    title=f"Your {row.name} certification expires {when}",
                    body=(
                        f"It is valid until {date_format(timezone.localtime(row.expires_at), 'DATETIME_FORMAT')}. "
                        "Pass the course again to renew it for another period."
                    ),
                    url=_course_url(row.course_id),
                    dedupe_key=f"certification_expiring:{row.pk}:{days}",
                )
            Certification.objects.filter(pk__in=[row.pk for row in rows]).update(reminded_days=days)
            sent += len(rows)
    return sent


def certifications_expire(*, now: datetime | None = None) -> int:
    """Announce each current certification whose ``expires_at`` has passed, once.

    The privilege itself ends at ``expires_at`` whether or not this has run (see
    :func:`training.selectors.user_holds_privilege`); this tells the participation log
    and the holder. Returns how many were announced.
    """
    now = now or timezone.now()
    with transaction.atomic():
        rows = list(
            Certification.objects.filter(
                superseded_at__isnull=True, expiry_announced_at__isnull=True, expires_at__lte=now
            )
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("user")
            .order_by("expires_at", "pk")[:JOB_BATCH]
        )
        for row in rows:
            _announce_expired(row, user=row.user, now=now)
            notify(
                user_ids=[row.user_id],
                kind="training.certification_expired",
                title=f"Your {row.name} certification has expired",
                body="Pass the course again to renew it.",
                url=_course_url(row.course_id),
                dedupe_key=f"certification_expired:{row.pk}",
            )
    return len(rows)


# --- Personal data -------------------------------------------------------------------------------


def personal_data(*, user: User) -> dict[str, Any]:
    """The person's training, for their data export."""
    attempts = Attempt.objects.filter(user=user).select_related("course").order_by("created_at", "pk")
    certifications = Certification.objects.filter(user=user).order_by("issued_at", "pk")
    enrollments = Enrollment.objects.filter(user=user).select_related("course").order_by("pk")
    return {
        "training": {
            "attempts": [
                {
                    "course": a.course.title,
                    "course_id": a.course_id,
                    "answers": a.answers,
                    "score": a.score,
                    "passed": a.passed,
                    "created_at": a.created_at.isoformat(),
                }
                for a in attempts
            ],
            "certifications": [
                {
                    "name": c.name,
                    "grants": c.grants,
                    "course_id": c.course_id,
                    "issued_at": c.issued_at.isoformat(),
                    "expires_at": c.expires_at.isoformat(),
                    "renewal": c.renewal,
                }
                for c in certifications
            ],
            "courses": [
                {
                    "course": e.course.title,
                    "course_id": e.course_id,
                    "assigned_at": e.assigned_at.isoformat() if e.assigned_at else None,
                    "due_on": e.due_on.isoformat() if e.due_on else None,
                    "completed_at": e.completed_at.isoformat() if e.completed_at else None,
                }
                for e in enrollments
            ],
        }
    }
