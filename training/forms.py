"""The curator's course editor: a plain form whose structured fields map onto the same
``modules`` shape the API takes (``training.services.clean_modules`` checks both).

Field names: ``m-<i>-title``; lessons ``m-<i>-l-<j>-title`` / ``-body``; questions
``m-<i>-q-<k>-text`` with one row per choice, ``m-<i>-q-<k>-c-<n>-text`` and the
checkbox ``m-<i>-q-<k>-c-<n>-correct`` that marks it right. Counts travel as
``module_count``, ``m-<i>-lesson_count``, ``m-<i>-question_count`` and
``m-<i>-q-<k>-choice_count``. Entries left entirely blank are dropped, so the editor can
always offer an empty slot to add one more (course_editor.js adds and removes choice rows
with buttons; without script the empty rows do).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.http import QueryDict

from training.models import Course, Privilege

MAX_SLOTS = 200


@dataclass
class LessonDraft:
    title: str = ""
    body: str = ""

    def blank(self) -> bool:
        return not (self.title.strip() or self.body.strip())


MIN_CHOICE_ROWS = 4


@dataclass
class ChoiceDraft:
    text: str = ""
    correct: bool = False

    def blank(self) -> bool:
        return not self.text.strip()


@dataclass
class QuestionDraft:
    text: str = ""
    choices: list[ChoiceDraft] = field(default_factory=list)

    def blank(self) -> bool:
        return not self.text.strip() and all(c.blank() for c in self.choices)

    def with_empty_rows(self) -> QuestionDraft:
        """At least four choice rows, and always one empty row to type another choice in."""
        missing = max(MIN_CHOICE_ROWS - len(self.choices), 1 if not self.choices or not self.choices[-1].blank() else 0)
        return QuestionDraft(self.text, [*self.choices, *(ChoiceDraft() for _ in range(missing))])

    def parsed(self) -> tuple[list[str], list[int], bool]:
        """The choices typed, the indexes of those marked right, and whether an empty row was marked."""
        choices: list[str] = []
        correct: list[int] = []
        marked_blank = False
        for choice in self.choices:
            if choice.blank():
                marked_blank = marked_blank or choice.correct
                continue
            if choice.correct:
                correct.append(len(choices))
            choices.append(choice.text.strip())
        return choices, correct, marked_blank


@dataclass
class ModuleDraft:
    title: str = ""
    lessons: list[LessonDraft] = field(default_factory=list)
    questions: list[QuestionDraft] = field(default_factory=list)

    def blank(self) -> bool:
        return (
            not self.title.strip() and all(x.blank() for x in self.lessons) and all(q.blank() for q in self.questions)
        )


@dataclass
class CourseDraft:
    title: str = ""
    description: str = ""
    audience: list[str] = field(default_factory=list)
    required: bool = False
    due_days: str = ""
    pass_mark: str = "80"  # noqa: S105 (a percentage, as people type it; the service takes a fraction)
    certification_name: str = ""
    certification_grants: str = ""
    certification_valid_days: str = ""
    modules: list[ModuleDraft] = field(default_factory=list)

    def with_empty_slots(self) -> CourseDraft:
        """The same draft with one empty module, lesson and question to fill in."""
        modules = [
            ModuleDraft(
                m.title,
                [*m.lessons, LessonDraft()],
                [q.with_empty_rows() for q in [*m.questions, QuestionDraft()]],
            )
            for m in self.modules
        ]
        modules.append(ModuleDraft(lessons=[LessonDraft()], questions=[QuestionDraft().with_empty_rows()]))
        return CourseDraft(**{**self.__dict__, "modules": modules})


def draft_from_course(course: Course) -> CourseDraft:
    """The editor's view of a saved course (``modules`` prefetched with lessons and questions)."""
    modules = []
    for module in course.modules.all():
        questions = []
        for question in module.questions.all():
            choices = [ChoiceDraft(choice, i in question.correct) for i, choice in enumerate(question.choices)]
            questions.append(QuestionDraft(question.text, choices))
        lessons = [LessonDraft(lesson.title, lesson.body) for lesson in module.lessons.all()]
        modules.append(ModuleDraft(module.title, lessons, questions))
    return CourseDraft(
        title=course.title,
        description=course.description,
        audience=[d.slug for d in course.audience.all()],
        required=course.required,
        due_days="" if course.due_days is None else str(course.due_days),
        pass_mark=format((course.pass_mark * 100).normalize(), "f"),
        certification_name=course.certification_name,
        certification_grants=course.certification_grants,
        certification_valid_days=""
        if course.certification_valid_days is None
        else str(course.certification_valid_days),
        modules=modules,
    )


def _count(data: QueryDict, name: str) -> int:
    try:
        return max(0, min(MAX_SLOTS, int(data.get(name, "0"))))
    except ValueError:
        return 0


def draft_from_post(data: QueryDict) -> CourseDraft:
    """What the curator typed, kept as typed (for showing the form again on an error)."""
    modules = []
    for i in range(_count(data, "module_count")):
        prefix = f"m-{i}"
        lessons = [
            LessonDraft(data.get(f"{prefix}-l-{j}-title", ""), data.get(f"{prefix}-l-{j}-body", ""))
            for j in range(_count(data, f"{prefix}-lesson_count"))
        ]
        questions = []
        for k in range(_count(data, f"{prefix}-question_count")):
            at = f"{prefix}-q-{k}"
            choices = [
                ChoiceDraft(data.get(f"{at}-c-{n}-text", ""), data.get(f"{at}-c-{n}-correct") == "on")
                for n in range(_count(data, f"{at}-choice_count"))
            ]
            questions.append(QuestionDraft(data.get(f"{at}-text", ""), choices))
        modules.append(ModuleDraft(data.get(f"{prefix}-title", ""), lessons, questions))
    return CourseDraft(
        title=data.get("title", ""),
        description=data.get("description", ""),
        audience=data.getlist("audience"),
        required=data.get("required") == "on",
        due_days=data.get("due_days", "").strip(),
        pass_mark=data.get("pass_mark", "").strip(),
        certification_name=data.get("certification_name", "").strip(),
        certification_grants=data.get("certification_grants", "").strip(),
        certification_valid_days=data.get("certification_valid_days", "").strip(),
        modules=[m for m in modules if not m.blank()],
    )


class DraftError(ValueError):
    pass


def _int_or_none(value: str, label: str) -> int | None:
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise DraftError(f"{label} must be a whole number of days.") from None


def _fraction_of_percent(value: str) -> Decimal:
    """The editor's pass mark, typed as a percentage (80, 66.7), as the fraction services take."""
    try:
        percent = Decimal(value.strip().rstrip("%").strip())
    except (InvalidOperation, ValueError):
        raise DraftError("Type the pass mark as a percentage from 0 to 100, such as 80.") from None
    if not percent.is_finite() or not Decimal(0) <= percent <= Decimal(100):
        raise DraftError("Type the pass mark as a percentage from 0 to 100, such as 80.")
    if percent != percent.quantize(Decimal("0.1")):
        raise DraftError("The pass mark may have at most one decimal, such as 66.7.")
    return percent / 100


def service_arguments(draft: CourseDraft) -> dict[str, Any]:
    """The arguments of ``course_create`` / ``course_update`` for this draft.

    Raises :class:`DraftError` for what only the form can get wrong (a question without
    a right choice marked); the service checks everything else.
    """
    modules = []
    for m, module in enumerate(draft.modules, start=1):
        questions = []
        for q, question in enumerate([x for x in module.questions if not x.blank()], start=1):
            choices, correct, marked_blank = question.parsed()
            if marked_blank:
                raise DraftError(f"Module {m}, question {q}: a choice marked right has no text; type it or untick it.")
            if len(choices) < 2:
                raise DraftError(f"Module {m}, question {q}: give at least two choices.")
            if not correct:
                raise DraftError(f"Module {m}, question {q}: tick “Right” beside the right choice (or choices).")
            questions.append({"text": question.text, "choices": choices, "correct": correct})
        lessons = [{"title": x.title, "body": x.body} for x in module.lessons if not x.blank()]
        modules.append({"title": module.title, "lessons": lessons, "questions": questions})
    certification = None
    if draft.certification_name or draft.certification_valid_days:
        if draft.certification_grants not in ("", *Privilege.values):
            raise DraftError("Choose what the certification grants from the list.")
        certification = {
            "name": draft.certification_name,
            "grants": draft.certification_grants,
            "valid_days": _int_or_none(draft.certification_valid_days, "Valid for"),
        }
    return {
        "title": draft.title,
        "description": draft.description,
        "audience": draft.audience,
        "required": draft.required,
        "due_days": _int_or_none(draft.due_days, "Due within"),
        "pass_mark": _fraction_of_percent(draft.pass_mark),
        "certification": certification,
        "modules": modules,
    }
