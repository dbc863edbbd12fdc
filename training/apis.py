"""The training API (API.md, "Training"), plus what curators need to run courses.

Views are thin: they read input with a serializer, call ``training.services`` (writes) or
``training.selectors`` (reads) and shape the answer.

Who may do what:

- Curators (and admins) create, edit (drafts only), publish and archive courses, read the
  answer key (``/courses/{id}/content/``) and the completion report, and see drafts.
- Everyone else sees published courses meant for their department: anything else is 404.
  ``GET /courses/{id}/`` never carries the correct choices, for anyone.
- Attempts, progress and certifications are each person's own.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from accounts.permissions import IsCurator, signed_in
from config.api import validated
from config.markdown import render_markdown
from config.pagination import PaginatedAPIView
from config.policy import enforce
from training import policy, selectors, services
from training.models import Certification, Course, CourseStatus, Enrollment, Module, Privilege

# --- Documentation helpers ---------------------------------------------------------------------


class TrainingErrorSerializer(serializers.Serializer[Any]):
    detail = serializers.CharField()
    field = serializers.CharField(required=False)


BAD_INPUT = OpenApiResponse(OpenApiTypes.OBJECT, description="Invalid input; the error names the field.")
NOT_AUTHENTICATED = OpenApiResponse(TrainingErrorSerializer, description="Not signed in.")
FORBIDDEN = OpenApiResponse(TrainingErrorSerializer, description="Signed in but not allowed (curators only).")
NOT_FOUND = OpenApiResponse(TrainingErrorSerializer, description="No such course, or not meant for you.")
CONFLICT = OpenApiResponse(TrainingErrorSerializer, description="Not possible in the course's current state.")
RATE_LIMITED = OpenApiResponse(TrainingErrorSerializer, description="Too many attempts; see Retry-After.")


def _plain(value: Any) -> Any:
    """Validated nested data as plain dicts and lists, for the services."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


# --- Output shapes --------------------------------------------------------------------------------


class CertificationSpecSerializer(serializers.Serializer[Any]):
    name = serializers.CharField()
    grants = serializers.CharField(help_text="`responder`: its holders publish answers without review; or empty.")
    valid_days = serializers.IntegerField()


class LessonSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    title = serializers.CharField()
    body = serializers.CharField(help_text="Markdown.")
    body_html = serializers.SerializerMethodField(help_text="The body rendered and sanitised.")

    def get_body_html(self, lesson: Any) -> str:
        return render_markdown(lesson.body)


class QuestionSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    text = serializers.CharField()
    choices = serializers.ListField(child=serializers.CharField())


class QuestionKeySerializer(QuestionSerializer):
    correct = serializers.ListField(child=serializers.IntegerField())


class ModuleSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    position = serializers.IntegerField()
    title = serializers.CharField()
    lessons = LessonSerializer(many=True)
    questions = QuestionSerializer(many=True)


class ModuleKeySerializer(ModuleSerializer):
    questions = QuestionKeySerializer(many=True)


class CourseSummarySerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    title = serializers.CharField()
    description = serializers.CharField()
    status = serializers.ChoiceField(choices=CourseStatus.choices)
    audience = serializers.SerializerMethodField(help_text="Department slugs; empty: everyone.")
    required = serializers.BooleanField()  # type: ignore[assignment]
    due_days = serializers.IntegerField(allow_null=True)
    pass_mark = serializers.FloatField(help_text="A fraction: score >= pass_mark passes.")
    certification = serializers.SerializerMethodField()
    question_count = serializers.IntegerField()
    version = serializers.IntegerField(
        help_text="1 when first published; one more each time a new version replaces it."
    )
    edition_of = serializers.IntegerField(
        source="edition_of_id",
        allow_null=True,
        help_text="For the draft of a new version: the course it will replace when published.",
    )
    created_at = serializers.DateTimeField()
    published_at = serializers.DateTimeField(allow_null=True)

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_audience(self, course: Course) -> list[str]:
        return [department.slug for department in course.audience.all()]

    @extend_schema_field(CertificationSpecSerializer(allow_null=True))
    def get_certification(self, course: Course) -> dict[str, Any] | None:
        if not course.grants_certification:
            return None
        return {
            "name": course.certification_name,
            "grants": course.certification_grants,
            "valid_days": course.certification_valid_days,
        }


class CourseSerializer(CourseSummarySerializer):
    """A course as its audience sees it: never the correct choices."""

    description_html = serializers.SerializerMethodField()
    modules = ModuleSerializer(many=True)

    def get_description_html(self, course: Course) -> str:
        return render_markdown(course.description)


class CourseKeySerializer(CourseSerializer):
    """A course with its answer key, for its curators."""

    modules = ModuleKeySerializer(many=True)


class CourseRefSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    title = serializers.CharField()


class CertificationSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField()
    grants = serializers.CharField()
    course = serializers.SerializerMethodField()
    issued_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    valid = serializers.SerializerMethodField(help_text="Valid now: expires_at is still ahead.")
    renewal = serializers.BooleanField()

    @extend_schema_field(CourseRefSerializer)
    def get_course(self, certification: Certification) -> dict[str, Any]:
        return {"id": certification.course_id, "title": certification.course.title}

    def get_valid(self, certification: Certification) -> bool:
        return certification.is_valid()


class EnrollmentSerializer(serializers.Serializer[Any]):
    course = serializers.SerializerMethodField()
    status = serializers.SerializerMethodField(help_text="`completed`, `overdue`, `assigned` or `started`.")
    assigned_at = serializers.DateTimeField(allow_null=True)
    due_on = serializers.DateField(allow_null=True)
    required = serializers.BooleanField()  # type: ignore[assignment]
    completed_at = serializers.DateTimeField(allow_null=True)
    last_passed_at = serializers.DateTimeField(allow_null=True)

    @extend_schema_field(CourseRefSerializer)
    def get_course(self, enrollment: Enrollment) -> dict[str, Any]:
        return {"id": enrollment.course_id, "title": enrollment.course.title}

    def get_status(self, enrollment: Enrollment) -> str:
        if enrollment.completed_at is not None:
            return "completed"
        if enrollment.is_overdue():
            return "overdue"
        return "assigned" if enrollment.is_assigned else "started"


class AttemptSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    score = serializers.FloatField(help_text="The fraction of questions right.")
    passed = serializers.BooleanField(help_text="score >= pass_mark")
    correct_count = serializers.IntegerField()
    question_count = serializers.IntegerField()
    course_version = serializers.IntegerField(help_text="The version of the course these answers were given to.")
    created_at = serializers.DateTimeField()


class AttemptResultSerializer(AttemptSerializer):
    """An attempt just submitted: the attempt, and the certification its pass issued."""

    certification = CertificationSerializer(required=False, help_text="Present when the pass issued or renewed one.")


def _visible_course(request: Request, id: int) -> Course:
    """The course ``id`` if the signed-in person may see it, else 404 (training.selectors' rule)."""
    return selectors.course_get_for_user(user=signed_in(request), id=id)


def _course_answer(course_id: int, *, key: bool = False) -> Response:
    course = selectors.course_with_content(course_id=course_id)
    return Response((CourseKeySerializer if key else CourseSerializer)(course).data)


# --- Input shapes ---------------------------------------------------------------------------------


class _LessonInput(serializers.Serializer[Any]):
    title = serializers.CharField(max_length=200)
    body = serializers.CharField(allow_blank=True, default="", help_text="Markdown.")


class _QuestionInput(serializers.Serializer[Any]):
    text = serializers.CharField(max_length=2000)
    choices = serializers.ListField(child=serializers.CharField(max_length=500), min_length=2, max_length=20)
    correct = serializers.ListField(child=serializers.IntegerField(min_value=0), min_length=1)


class _ModuleInput(serializers.Serializer[Any]):
    title = serializers.CharField(max_length=200)
    lessons = _LessonInput(many=True, default=list)
    questions = _QuestionInput(many=True, default=list)


class _CertificationInput(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=200)
    grants = serializers.ChoiceField(choices=[("", "Nothing"), *Privilege.choices], allow_blank=True, default="")
    valid_days = serializers.IntegerField(min_value=1, max_value=services.MAX_VALID_DAYS)


class CourseInputSerializer(serializers.Serializer[Any]):
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(allow_blank=True, default="", help_text="Markdown.")
    audience = serializers.ListField(
        child=serializers.CharField(), default=list, help_text="Department slugs; empty for everyone."
    )
    required = serializers.BooleanField(default=False)  # type: ignore[assignment]
    due_days = serializers.IntegerField(min_value=1, max_value=services.MAX_DUE_DAYS, allow_null=True, default=None)
    pass_mark = serializers.DecimalField(
        max_digits=4, decimal_places=3, min_value=0, max_value=1, coerce_to_string=False
    )
    certification = _CertificationInput(required=False, allow_null=True, default=None)
    modules = _ModuleInput(many=True, default=list)


# --- Courses --------------------------------------------------------------------------------------


class CourseListApi(PaginatedAPIView):
    class CourseFilterSerializer(serializers.Serializer[Any]):
        status = serializers.ChoiceField(choices=CourseStatus.choices, required=False)

    @extend_schema(
        parameters=[CourseFilterSerializer],
        responses={200: CourseSummarySerializer(many=True), 400: BAD_INPUT, 401: NOT_AUTHENTICATED},
        summary="Courses you can see",
        description="Curators see every course (filter with `status`); others the published ones meant for them.",
    )
    def get(self, request: Request) -> Response:
        filters = validated(self.CourseFilterSerializer, request.query_params)
        courses = selectors.course_list_for_user(user=request.user, status=filters.get("status"))  # type: ignore[arg-type]
        return self.paginated(request, courses, CourseSummarySerializer)

    @extend_schema(
        request=CourseInputSerializer,
        responses={201: CourseSerializer, 400: BAD_INPUT, 401: NOT_AUTHENTICATED, 403: FORBIDDEN},
        summary="Create a draft course (curators)",
    )
    def post(self, request: Request) -> Response:
        enforce(policy.course_manage(signed_in(request)))  # 403 before the input is read
        data = _plain(validated(CourseInputSerializer, request.data))
        course = services.course_create(author=request.user, **data)  # type: ignore[arg-type]
        response = _course_answer(course.pk)
        response.status_code = status.HTTP_201_CREATED
        return response


class CourseDetailApi(APIView):
    @extend_schema(
        responses={200: CourseSerializer, 401: NOT_AUTHENTICATED, 404: NOT_FOUND},
        summary="A course as its audience sees it (never the correct choices)",
    )
    def get(self, request: Request, id: int) -> Response:
        course = _visible_course(request, id)
        return _course_answer(course.pk)

    @extend_schema(
        request=CourseInputSerializer(partial=True),
        responses={
            200: CourseSerializer,
            400: BAD_INPUT,
            401: NOT_AUTHENTICATED,
            403: FORBIDDEN,
            404: NOT_FOUND,
            409: CONFLICT,
        },
        summary="Edit a draft course (curators)",
        description=(
            "Changes only the fields sent; `modules`, when sent, replaces them all. 409 unless a draft: "
            "a published course changes through a new version (`POST /courses/{id}/new-version/`)."
        ),
    )
    def patch(self, request: Request, id: int) -> Response:
        course = _visible_course(request, id)
        enforce(policy.course_update(signed_in(request), course), conflicts=False)  # 403 before the input is read
        data = _plain(validated(CourseInputSerializer, request.data, partial=True))
        services.course_update(user=signed_in(request), course_id=course.pk, **data)
        return _course_answer(course.pk)


class CourseContentApi(APIView):
    permission_classes = [IsCurator]

    @extend_schema(
        responses={200: CourseKeySerializer, 401: NOT_AUTHENTICATED, 403: FORBIDDEN, 404: NOT_FOUND},
        summary="A course with its answer key (curators)",
    )
    def get(self, request: Request, id: int) -> Response:
        course = _visible_course(request, id)
        return _course_answer(course.pk, key=True)


class CoursePublishApi(APIView):
    permission_classes = [IsCurator]

    @extend_schema(
        request=None,
        responses={
            200: CourseSerializer,
            400: BAD_INPUT,
            401: NOT_AUTHENTICATED,
            403: FORBIDDEN,
            404: NOT_FOUND,
            409: CONFLICT,
        },
        summary="Publish a draft (curators)",
        description=(
            "A required course is assigned at once to everyone in its audience, due in `due_days`. "
            "The draft of a new version is published into its course: the answer is that course, "
            "at the new version; the draft's id is gone."
        ),
    )
    def post(self, request: Request, id: int) -> Response:
        course = _visible_course(request, id)
        published = services.course_publish(user=signed_in(request), course_id=course.pk)
        return _course_answer(published.pk)


class CourseNewVersionApi(APIView):
    permission_classes = [IsCurator]

    @extend_schema(
        request=None,
        responses={
            200: CourseKeySerializer,
            201: CourseKeySerializer,
            401: NOT_AUTHENTICATED,
            403: FORBIDDEN,
            404: NOT_FOUND,
            409: CONFLICT,
        },
        summary="Start the next version of a published course (curators)",
        description=(
            "201 with a draft copy of the course (`edition_of` names the course, `version` is the next number), "
            "to change with `PATCH` and publish; 200 with the same draft if one was already started. Publishing "
            "it replaces the course's content, settings and audience in place: enrollments, attempts, completions "
            "and certifications belong to the course and carry over. 409 for a draft or an archived course."
        ),
    )
    def post(self, request: Request, id: int) -> Response:
        course = _visible_course(request, id)
        existed = Course.objects.filter(edition_of=course).exists()
        edition = services.course_new_version(user=signed_in(request), course_id=course.pk)
        response = _course_answer(edition.pk, key=True)
        response.status_code = status.HTTP_200_OK if existed else status.HTTP_201_CREATED
        return response


class CourseArchiveApi(APIView):
    permission_classes = [IsCurator]

    @extend_schema(
        request=None,
        responses={200: CourseSerializer, 401: NOT_AUTHENTICATED, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT},
        summary="Archive a published course (curators)",
        description="Nobody can take it any more; certificates it issued stay valid until they expire.",
    )
    def post(self, request: Request, id: int) -> Response:
        course = _visible_course(request, id)
        services.course_archive(user=signed_in(request), course_id=course.pk)
        return _course_answer(course.pk)


class CourseReportApi(APIView):
    permission_classes = [IsCurator]

    class CourseReportSerializer(serializers.Serializer[Any]):
        class DepartmentCompletionSerializer(serializers.Serializer[Any]):
            department = serializers.CharField(source="slug")
            name = serializers.CharField()
            people = serializers.IntegerField()
            assigned = serializers.IntegerField()
            completed = serializers.IntegerField()
            overdue = serializers.IntegerField()
            completion_rate = serializers.FloatField(allow_null=True)

        course = serializers.IntegerField()
        title = serializers.CharField()
        departments = DepartmentCompletionSerializer(many=True)

    @extend_schema(
        responses={200: CourseReportSerializer, 401: NOT_AUTHENTICATED, 403: FORBIDDEN, 404: NOT_FOUND},
        summary="Completion by department (curators)",
        description=(
            "For each department of the audience (every department when the audience is everyone): "
            "active people, assignments, people who passed, overdue assignments, and the completion rate "
            "(completed over assigned, or over people when nobody is assigned)."
        ),
    )
    def get(self, request: Request, id: int) -> Response:
        course = _visible_course(request, id)
        rows = selectors.course_completion_by_department(course=course)
        report = {"course": course.pk, "title": course.title, "departments": rows}
        return Response(self.CourseReportSerializer(report).data)


# --- Taking a course ----------------------------------------------------------------------------


class AttemptApi(PaginatedAPIView):
    class AttemptInputSerializer(serializers.Serializer[Any]):
        answers = serializers.ListField(
            child=serializers.ListField(child=serializers.IntegerField()),
            help_text="One list of chosen choice indexes per question, in course order.",
        )

    @extend_schema(
        responses={200: AttemptSerializer(many=True), 401: NOT_AUTHENTICATED, 404: NOT_FOUND},
        summary="Your attempts at a course, newest first",
    )
    def get(self, request: Request, id: int) -> Response:
        course = _visible_course(request, id)
        return self.paginated(
            request,
            selectors.attempts_for_user(user=request.user, course=course),  # type: ignore[arg-type]
            AttemptSerializer,
        )

    @extend_schema(
        request=AttemptInputSerializer,
        responses={
            201: AttemptResultSerializer,
            400: BAD_INPUT,
            401: NOT_AUTHENTICATED,
            404: NOT_FOUND,
            409: CONFLICT,
            429: RATE_LIMITED,
        },
        summary="Submit an attempt",
        description=(
            "A question scores 1 when the chosen set equals the correct set, else 0; `score` is the "
            "fraction of questions right and `passed` is `score >= pass_mark`. A pass issues or renews "
            "the course's certification (valid `valid_days` from now). 400 for answers of the wrong "
            "shape; 404 for a course not meant for you (or, for non-curators, not published); 409 for "
            "a course not published; 429 after 5 attempts at one course in 24 hours."
        ),
    )
    def post(self, request: Request, id: int) -> Response:
        _visible_course(request, id)
        data = validated(self.AttemptInputSerializer, request.data)
        result = services.attempt_submit(user=request.user, course_id=id, answers=data["answers"])  # type: ignore[arg-type]
        body = dict(AttemptSerializer(result.attempt).data)
        if result.certification is not None:
            body["certification"] = CertificationSerializer(result.certification).data
        return Response(body, status=status.HTTP_201_CREATED)


class ProgressApi(APIView):
    class ProgressInputSerializer(serializers.Serializer[Any]):
        module = serializers.IntegerField(help_text="The id of a module of this course you worked through.")

    class ProgressSerializer(serializers.Serializer[Any]):
        modules_done = serializers.ListField(child=serializers.IntegerField())

    @extend_schema(
        responses={200: ProgressSerializer, 401: NOT_AUTHENTICATED, 404: NOT_FOUND},
        summary="The modules of a course you have worked through",
    )
    def get(self, request: Request, id: int) -> Response:
        course = _visible_course(request, id)
        done = selectors.module_progress_ids(user=request.user, course=course)  # type: ignore[arg-type]
        return Response({"modules_done": sorted(done)})

    @extend_schema(
        request=ProgressInputSerializer,
        responses={200: ProgressSerializer, 400: BAD_INPUT, 401: NOT_AUTHENTICATED, 404: NOT_FOUND, 409: CONFLICT},
        summary="Mark a module of a course as worked through",
    )
    def post(self, request: Request, id: int) -> Response:
        course = _visible_course(request, id)
        data = validated(self.ProgressInputSerializer, request.data)
        module = Module.objects.filter(course=course, pk=data["module"]).first()
        if module is None:
            raise serializers.ValidationError({"module": ["No such module in this course."]})
        services.module_complete(user=signed_in(request), course_id=course.pk, module_id=module.pk)
        done = selectors.module_progress_ids(user=request.user, course=course)  # type: ignore[arg-type]
        return Response({"modules_done": sorted(done)})


# --- Oneself --------------------------------------------------------------------------------------


class MyCertificationsApi(PaginatedAPIView):
    @extend_schema(
        responses={200: CertificationSerializer(many=True), 401: NOT_AUTHENTICATED},
        summary="Your certifications, valid and expired",
        description="Your current certification from each course (the latest issue or renewal), newest expiry first.",
    )
    def get(self, request: Request) -> Response:
        user: User = request.user  # type: ignore[assignment]
        return self.paginated(request, selectors.certifications_for_user(user=user), CertificationSerializer)


class MyTrainingApi(PaginatedAPIView):
    @extend_schema(
        responses={200: EnrollmentSerializer(many=True), 401: NOT_AUTHENTICATED},
        summary="Your courses: assigned (with due days), started and completed",
    )
    def get(self, request: Request) -> Response:
        user: User = request.user  # type: ignore[assignment]
        return self.paginated(request, selectors.enrollments_for_user(user=user), EnrollmentSerializer)
