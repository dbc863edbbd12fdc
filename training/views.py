"""Web pages of training: my training, the course player, the quiz and its result, and
the curators' editor and completion report. Thin: the rules are in ``training.services``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import Department, User
from accounts.permissions import signed_in
from config.errors import Conflict, RateLimited, ServiceError
from config.markdown import render_markdown
from config.policy import enforce
from training import policy, selectors, services
from training.forms import DraftError, draft_from_course, draft_from_post, service_arguments
from training.models import Course, CourseStatus, Privilege

COURSES_PER_PAGE = 25


def _require_curator(request: HttpRequest) -> User:
    """The curators' pages: 403 for anyone :func:`training.policy.course_manage` refuses."""
    user = signed_in(request)
    enforce(policy.course_manage(user))
    return user


def _curated_course(request: HttpRequest, pk: int) -> tuple[User, Course]:
    """The curator signed in and the course ``pk`` they manage (403 for others, 404 for no course)."""
    user = _require_curator(request)
    return user, selectors.course_get_for_user(user=user, id=pk)


def _attempts_left(user: User, course: Course) -> int:
    since = timezone.now() - services.ATTEMPT_WINDOW
    used = selectors.attempts_since(user=user, course=course, since=since).count()
    return max(0, services.ATTEMPT_LIMIT - used)


# --- Employees ------------------------------------------------------------------------------------


@require_GET
def my_training(request: HttpRequest) -> HttpResponse:
    user = signed_in(request)
    today = timezone.localdate()
    enrollments = list(selectors.enrollments_for_user(user=user))
    assigned = [e for e in enrollments if e.is_assigned and e.completed_at is None]
    in_progress = [e for e in enrollments if not e.is_assigned and e.completed_at is None]
    completed = [e for e in enrollments if e.completed_at is not None]
    known = {e.course_id for e in enrollments}
    available = [
        c for c in selectors.course_list_for_user(user=user, status=CourseStatus.PUBLISHED) if c.pk not in known
    ]
    now = timezone.now()
    certifications = [
        {"certification": c, "valid": c.is_valid(now), "days_left": (c.expires_at - now).days}
        for c in selectors.certifications_for_user(user=user)
    ]
    context = {
        "assigned": assigned,
        "in_progress": in_progress,
        "completed": completed,
        "available": available,
        "certifications": certifications,
        "today": today,
        "manages": selectors.user_manages_training(user),
    }
    return render(request, "training/my_training.html", context)


def _course_for_player(user: User, course_id: int) -> Course:
    course = selectors.course_get_for_user(user=user, id=course_id)
    if course.status != CourseStatus.PUBLISHED and not selectors.user_manages_training(user):
        raise Http404("No such course.")
    return selectors.course_with_content(course_id=course.pk)


@require_GET
def course_player(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in(request)
    course = _course_for_player(user, pk)
    modules = list(course.modules.all())
    done = selectors.module_progress_ids(user=user, course=course)
    current = None
    wanted = request.GET.get("module", "")
    if wanted.isdigit():
        current = next((m for m in modules if m.pk == int(wanted)), None)
    if current is None:
        current = next((m for m in modules if m.pk not in done), modules[0] if modules else None)
    lessons = []
    if current is not None:
        lessons = [{"lesson": lesson, "html": render_markdown(lesson.body)} for lesson in current.lessons.all()]
    later = [m for m in modules if current is not None and m.position > current.position]
    enrollment = course.enrollments.filter(user=user).first()
    certification = selectors.certifications_for_user(user=user).filter(course=course).first()
    context = {
        "course": course,
        "description_html": render_markdown(course.description),
        "modules": [{"module": m, "done": m.pk in done} for m in modules],
        "current": current,
        "current_done": current is not None and current.pk in done,
        "next_module": later[0] if later else None,
        "lessons": lessons,
        "done_count": len(done & {m.pk for m in modules}),
        "enrollment": enrollment,
        "certification": certification,
        "certification_valid": certification is not None and certification.is_valid(),
        "published": course.status == CourseStatus.PUBLISHED,
    }
    return render(request, "training/course_player.html", context)


@require_POST
def module_done(request: HttpRequest, pk: int, module_pk: int) -> HttpResponse:
    user = signed_in(request)
    course = _course_for_player(user, pk)
    module = next((m for m in course.modules.all() if m.pk == module_pk), None)
    if module is None:
        raise Http404("No such module.")
    try:
        services.module_complete(user=user, course_id=course.pk, module_id=module.pk)
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect(f"{reverse('training:course', args=[pk])}?module={module_pk}")
    later = [m for m in course.modules.all() if m.position > module.position]
    if later:
        return redirect(f"{reverse('training:course', args=[pk])}?module={later[0].pk}")
    return redirect("training:quiz", pk=pk)


def _questions_phrase(numbers: list[int]) -> str:
    """``[2]`` → "Question 2 has"; ``[1, 3, 4]`` → "Questions 1, 3 and 4 have"."""
    if len(numbers) == 1:
        return f"Question {numbers[0]} has"
    listed = ", ".join(str(n) for n in numbers[:-1])
    return f"Questions {listed} and {numbers[-1]} have"


@require_http_methods(["GET", "POST"])
def quiz(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in(request)
    course = _course_for_player(user, pk)
    questions = selectors.course_questions(course=course)
    status = 200
    error = warning = ""
    chosen: list[list[int]] = [[] for _ in questions]
    if request.method == "POST" and request.POST.get("version", str(course.version)) != str(course.version):
        # Answered on the page of an earlier version: the questions have changed.
        error, status = services.NEW_VERSION_MESSAGE, 409
    elif request.method == "POST":
        try:
            chosen = [[int(v) for v in request.POST.getlist(f"q-{n}")] for n in range(len(questions))]
        except ValueError:
            error, status = "Choose answers from the lists below.", 400
        unanswered = [n + 1 for n, picked in enumerate(chosen) if not picked]
        if not error and unanswered and len(unanswered) == len(questions):
            # Nothing ticked: refuse here, so a stray click costs no attempt.
            error, status = (
                "You have not answered any question yet, so nothing was submitted and no attempt was used.",
                400,
            )
        elif not error and unanswered and "submit_unanswered" not in request.POST:
            warning = (
                f"{_questions_phrase(unanswered)} no answer yet, and an unanswered question counts as wrong. "
                "Answer them, or submit anyway; nothing has been submitted so far."
            )
        if not error and not warning:
            try:
                result = services.attempt_submit(user=user, course_id=course.pk, answers=chosen, version=course.version)
            except RateLimited as exc:
                error, status = exc.message, 429
            except Conflict as exc:
                error, status = exc.message, 409
            except ServiceError as exc:
                error, status = exc.message, 400
            else:
                return redirect("training:attempt", pk=result.attempt.pk)
    context = {
        "course": course,
        "questions": [
            {"index": n, "question": q, "choices": [(i, c, i in chosen[n]) for i, c in enumerate(q.choices)]}
            for n, q in enumerate(questions)
        ],
        "error": error,
        "warning": warning,
        "attempts_left": _attempts_left(user, course),
        "attempt_limit": services.ATTEMPT_LIMIT,
        "pass_percent": round(float(course.pass_mark) * 100),
        "published": course.status == CourseStatus.PUBLISHED,
    }
    return render(request, "training/quiz.html", context, status=status)


@require_GET
def attempt_result(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in(request)
    attempt = selectors.attempt_get_for_user(user=user, id=pk)
    questions = selectors.course_questions(course=attempt.course)
    # Which questions were right, never which choices are: the quiz can be taken again.
    marks = []
    if attempt.course_version == attempt.course.version and len(attempt.answers) == len(questions):
        marks = [
            {"number": n + 1, "text": q.text, "right": set(chosen) == set(q.correct)}
            for n, (chosen, q) in enumerate(zip(attempt.answers, questions, strict=True))
        ]
    certification = getattr(attempt, "certification", None)
    context = {
        "attempt": attempt,
        "course": attempt.course,
        "score_percent": round(attempt.score * 100),
        "pass_percent": round(float(attempt.course.pass_mark) * 100),
        "marks": marks,
        "certification": certification,
        "attempts_left": _attempts_left(attempt.user, attempt.course),
        "own": attempt.user_id == user.pk,
    }
    return render(request, "training/attempt_result.html", context)


# --- Curators -------------------------------------------------------------------------------------


@require_GET
def manage(request: HttpRequest) -> HttpResponse:
    user = _require_curator(request)
    status = request.GET.get("status", "")
    if status not in CourseStatus.values:
        status = ""
    # A draft of a new version shows on the row of the course it is a version of.
    courses = (
        selectors.course_list_for_user(user=user, status=status or None)
        .filter(edition_of__isnull=True)
        .select_related("next_edition")
        .order_by("-created_at", "-id")
    )
    page = Paginator(courses, COURSES_PER_PAGE).get_page(request.GET.get("page"))
    page.object_list = [_offer(user, course) for course in page.object_list]
    return render(
        request,
        "training/manage.html",
        {"page": page, "status": status, "statuses": CourseStatus.choices, "extra": f"status={status}&"},
    )


def _offer(user: User, course: Course) -> Course:
    """Mark what the page offers on ``course``: what the services accept (training.policy)."""
    course.can_publish = policy.course_publish(user, course) is None  # type: ignore[attr-defined]
    course.can_new_version = policy.course_new_version(user, course) is None  # type: ignore[attr-defined]
    course.can_archive = policy.course_archive(user, course) is None  # type: ignore[attr-defined]
    return course


def _editor(
    request: HttpRequest, *, course: Course | None, draft: Any, error: str = "", status: int = 200
) -> HttpResponse:
    context = {
        "course": _offer(signed_in(request), course) if course is not None else None,
        "edition": getattr(course, "next_edition", None) if course is not None else None,
        "draft": draft.with_empty_slots(),
        "departments": Department.objects.order_by("name"),
        "privileges": Privilege.choices,
        "error": error,
    }
    return render(request, "training/course_editor.html", context, status=status)


def _save(request: HttpRequest, course: Course | None) -> HttpResponse:
    user = signed_in(request)
    draft = draft_from_post(request.POST)
    try:
        arguments = service_arguments(draft)
        if course is None:
            course = services.course_create(author=user, **arguments)
        else:
            services.course_update(user=user, course_id=course.pk, **arguments)
    except DraftError as exc:
        return _editor(request, course=course, draft=draft, error=str(exc), status=400)
    except Conflict as exc:
        return _editor(request, course=course, draft=draft, error=exc.message, status=409)
    except ServiceError as exc:
        where = exc.extra.get("field", "")
        message = exc.message if not where or where in exc.message else f"{where}: {exc.message}"
        return _editor(request, course=course, draft=draft, error=message, status=400)
    messages.success(request, "Draft saved.")
    return redirect("training:course_edit", pk=course.pk)


@require_http_methods(["GET", "POST"])
def course_new(request: HttpRequest) -> HttpResponse:
    _require_curator(request)
    if request.method == "POST":
        return _save(request, None)
    from training.forms import CourseDraft

    return _editor(request, course=None, draft=CourseDraft())


@require_http_methods(["GET", "POST"])
def course_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _curator, course = _curated_course(request, pk)
    if request.method == "POST":
        return _save(request, course)
    content = selectors.course_with_content(course_id=pk)
    return _editor(request, course=content, draft=draft_from_course(content))


@require_POST
def course_new_version(request: HttpRequest, pk: int) -> HttpResponse:
    user, course = _curated_course(request, pk)
    try:
        edition = services.course_new_version(user=user, course_id=course.pk)
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect("training:course_edit", pk=pk)
    return redirect("training:course_edit", pk=edition.pk)


@require_POST
def course_publish(request: HttpRequest, pk: int) -> HttpResponse:
    user, course = _curated_course(request, pk)
    try:
        published = services.course_publish(user=user, course_id=course.pk)
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect("training:course_edit", pk=pk)
    if course.edition_of_id is not None:
        messages.success(
            request,
            f"Version {published.version} of “{published.title}” is published; "
            "completions and certificates of earlier versions are kept.",
        )
    else:
        messages.success(request, f"“{published.title}” is published.")
    return redirect("training:manage")


@require_POST
def course_archive(request: HttpRequest, pk: int) -> HttpResponse:
    user, course = _curated_course(request, pk)
    try:
        services.course_archive(user=user, course_id=course.pk)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"“{course.title}” is archived.")
    return redirect("training:manage")


@require_GET
def course_report(request: HttpRequest, pk: int) -> HttpResponse:
    _curator, course = _curated_course(request, pk)
    rows = selectors.course_completion_by_department(course=course)
    totals = {
        "people": sum(r.people for r in rows),
        "assigned": sum(r.assigned for r in rows),
        "completed": sum(r.completed for r in rows),
        "overdue": sum(r.overdue for r in rows),
    }
    certified = 0
    if course.grants_certification:
        certified = (
            course.certifications.filter(superseded_at__isnull=True, expires_at__gt=timezone.now())
            .values("user_id")
            .distinct()
            .count()
        )
    expiring = 0
    if course.grants_certification:
        expiring = course.certifications.filter(
            superseded_at__isnull=True,
            expires_at__gt=timezone.now(),
            expires_at__lte=timezone.now() + timedelta(days=30),
        ).count()
    context = {"course": course, "rows": rows, "totals": totals, "certified": certified, "expiring": expiring}
    return render(request, "training/course_report.html", context)
