"""The hot paths' statements: how many each request makes, and that the one-statement forms
answer what the ORM's forms answer (QUALITY.md, "Speed"; bench/RESULTS.md)."""

from __future__ import annotations

import itertools
import json
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import RoleName, Topic
from config.activity import ActivityKind, activity_key
from engage import selectors
from engage.models import Query, QueryState, QueryStatus
from tests.engage.conftest import put_in_state
from tests.factories import UserFactory

pytestmark = pytest.mark.postgres


def statements(captured: CaptureQueriesContext) -> list[str]:
    """What a request sent, without the test's own savepoints."""
    return [q["sql"] for q in captured.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))]


@pytest.fixture
def queue(department, other_department, make_query, owner, colleague) -> list[Query]:
    """Queries in every status, in two departments and unrouted, some with topics."""
    now = timezone.now()
    topic = Topic.objects.create(slug="refunds", name="Refunds", keywords=["refund"], department=department)
    made = []
    for n, (dept, state) in enumerate(
        itertools.product([department, other_department, None], ["open", "claimed", "lapsed", *QueryState.values])
    ):
        query = make_query(f"Question {n}", department=dept)
        put_in_state(query, state, holder=owner, lapsed_holder=colleague, now=now)
        if n % 3 == 0:
            query.topics.add(topic)
        made.append(query)
    # Two queries due at the same moment: the keyset's tie-break on id.
    Query.objects.filter(pk__in=[made[0].pk, made[1].pk]).update(sla_due_at=now + timedelta(hours=2))
    return made


def _orm(user: Any, status: str | None, department: str | None, cursor: str | None, now: Any) -> selectors.QueueRows:
    queries = selectors.query_list(user=user, status=status, department=department, now=now)
    return selectors.queue_page_rows(queries, cursor=cursor, page_size=4, now=now)


@pytest.mark.django_db
def test_the_one_statement_queue_answers_what_the_orm_answers(queue, owner, outsider, department) -> None:
    reviewer = UserFactory(department=department, roles=[RoleName.REVIEWER])
    nobody = UserFactory(department=None)
    now = timezone.now()
    compared = 0
    for user, status, dept in itertools.product(
        [owner, outsider, reviewer, nobody], [None, *QueryStatus.values], [None, "none", "support", "finance"]
    ):
        cursor = None
        for _page in range(20):
            fast = selectors.queue_page_one_statement(
                user=user, status=status, department=dept, cursor=cursor, page_size=4, now=now
            )
            slow = _orm(user, status, dept, cursor, now)
            if fast is None:  # an empty page of a named department: the caller asks the ORM
                assert slow.results == []
                break
            assert fast.results == slow.results, (user, status, dept, cursor)
            assert fast.next_cursor == slow.next_cursor
            compared += len(fast.results)
            cursor = fast.next_cursor
            if cursor is None:
                break
    assert compared > 100


@pytest.mark.django_db
def test_the_queue_is_two_statements_the_token_and_the_page(api, owner, queue) -> None:
    client = api(owner)
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/api/v1/queries/", {"department": "support", "status": "open", "page_size": 50})
    assert response.status_code == 200
    assert response.json()["results"]
    assert len(statements(captured)) == 2, statements(captured)


@pytest.mark.django_db
def test_an_unknown_department_is_still_400(api, owner, queue) -> None:
    response = api(owner).get("/api/v1/queries/", {"department": "nope"})
    assert response.status_code == 400


@pytest.mark.django_db
def test_a_claim_is_the_token_the_lock_and_one_statement(api, owner, make_query, department) -> None:
    query = make_query(department=department)
    client = api(owner)
    with CaptureQueriesContext(connection) as captured:
        response = client.post(f"/api/v1/queries/{query.pk}/claim/")
    assert response.status_code == 200
    sent = statements(captured)
    assert len(sent) == 3, sent
    assert "FOR UPDATE" in sent[1]


@pytest.mark.django_db
def test_a_webhook_is_the_channel_and_one_statement_and_a_redelivery_writes_nothing(channel) -> None:
    from config.models import OutboxJob
    from engage.models import ParticipationEvent
    from tests.engage.conftest import payload, signed_post

    client = Client()
    body = json.dumps(payload("once")).encode()

    def post() -> Any:
        return signed_post(client, channel.url, channel.secret, body)

    with CaptureQueriesContext(connection) as captured:
        first = post()
    assert first.status_code == 201
    assert len(statements(captured)) == 2, statements(captured)
    query_id = first.json()["id"]
    assert OutboxJob.objects.filter(task_name="engage.route_query", args=[query_id]).count() == 1
    event = ParticipationEvent.objects.get(key=activity_key(ActivityKind.QUERY_RECEIVED, query_id))
    assert (event.object_id, event.kind, event.data["channel"]) == (query_id, "query_received", channel.channel.slug)
    again = post()
    assert again.status_code == 200
    assert again.json() == {"id": query_id, "created": False}
    assert OutboxJob.objects.filter(task_name="engage.route_query").count() == 1
    assert ParticipationEvent.objects.filter(kind="query_received").count() == 1


@pytest.mark.django_db
def test_the_webhooks_channel_statement_reads_what_the_orm_reads(channel) -> None:
    from engage import services, statements
    from engage.models import Channel

    rotated, _secret = services.channel_rotate_secret(channel=channel.channel)
    fast = statements.channel_by_slug(rotated.slug)
    slow = Channel.objects.get(slug=rotated.slug)
    fields = [f.attname for f in Channel._meta.concrete_fields]
    assert fast is not None
    assert [getattr(fast, name) for name in fields] == [getattr(slow, name) for name in fields]
    assert fast.previous_secret  # the rotation's grace, read
    assert fast.previous_secret_expires_at is not None
    assert fast.verifying_secrets() == slow.verifying_secrets()
    assert statements.channel_by_slug("no-such-channel") is None


@pytest.mark.django_db
def test_the_hot_statements_stay_within_what_psycopg_parses_once(api, responder, make_query, department, channel):
    """psycopg keeps a statement's parsed text only up to 4096 bytes and 50 parameters; past
    either it parses the text again on every execution (engage.statements, "compact")."""
    from psycopg._queries import MAX_CACHED_STATEMENT_LENGTH, MAX_CACHED_STATEMENT_PARAMS

    from tests.engage.conftest import payload, signed_post

    sent: list[tuple[str, Any]] = []

    def keep(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        sent.append((sql, params))
        return execute(sql, params, many, context)

    query = make_query(department=department)
    client = api(responder)
    assert client.post(f"/api/v1/queries/{query.pk}/claim/").status_code == 200
    with connection.execute_wrapper(keep):
        answered = client.post(f"/api/v1/queries/{query.pk}/answers/", {"body": "Yes, soon."}, format="json")
        received = signed_post(Client(), channel.url, channel.secret, json.dumps(payload("limits")).encode())
    assert (answered.status_code, received.status_code) == (201, 201)
    hot = [(sql, params) for sql, params in sent if sql.lstrip().startswith("WITH")]
    assert len(hot) == 2  # the answer's statement and the receipt's
    for sql, params in hot:
        assert len(sql.encode()) <= MAX_CACHED_STATEMENT_LENGTH, sql[:60]
        assert len(params) <= MAX_CACHED_STATEMENT_PARAMS, sql[:60]


def test_a_new_querys_empty_columns_are_no_parameters_of_its_statement() -> None:
    """psycopg parses a statement's text once and keeps it only up to 50 parameters: the
    webhook's statement stays under that, its empty columns written as typed NULLs."""
    from datetime import UTC, datetime

    from engage import statements
    from engage.models import Query

    query = Query(channel_id=1, external_id="x", text="t", author_handle="@a", sla_due_at=datetime.now(UTC))
    columns, marks, values = statements._insert_parts(query)
    assert marks.count("%s") == len(values) < len(columns.split(", "))
    assert "NULL::timestamptz" in marks  # claimed_until and the like
    assert None not in values


@pytest.mark.django_db
def test_publishing_an_answer_is_the_token_and_one_statement(api, responder, make_query, department) -> None:
    from config.models import OutboxJob
    from engage.models import Delivery, ParticipationEvent, QueryDraft

    query = make_query(department=department)
    client = api(responder)
    assert client.post(f"/api/v1/queries/{query.pk}/claim/").status_code == 200
    QueryDraft.objects.create(query=query, author=responder, body="half")
    with CaptureQueriesContext(connection) as captured:
        response = client.post(f"/api/v1/queries/{query.pk}/answers/", {"body": "Yes, **soon**."}, format="json")
    assert response.status_code == 201, response.content
    assert len(statements(captured)) == 2, statements(captured)
    answer = response.json()
    assert answer["status"] == "published"
    assert answer["message_ids"] == []
    assert answer["body_html"] == "<p>Yes, <strong>soon</strong>.</p>\n"
    assert answer["author_name"] == responder.name
    query.refresh_from_db()
    assert (query.state, query.claimed_until) == ("answered", None)
    assert query.answered_at is not None
    delivery = Delivery.objects.get(answer_id=answer["id"])
    assert delivery.payload["answer_id"] == answer["id"]
    assert delivery.payload["query_external_id"] == query.external_id
    assert delivery.payload["author"] == {"name": responder.name}
    assert OutboxJob.objects.filter(task_name="engage.deliver", args=[delivery.pk, 0]).exists()
    event = ParticipationEvent.objects.get(key=activity_key(ActivityKind.ANSWER_PUBLISHED, answer["id"]))
    assert (event.object_id, event.actor_id, event.data["query_id"]) == (answer["id"], responder.pk, query.pk)
    assert not QueryDraft.objects.filter(query=query, author=responder).exists()


def _written(answer_id: int) -> dict[str, Any]:
    """Every row publishing wrote for one answer, by column, with what differs between two
    answers by nature (ids, times, the query's own external id) replaced by what it points at."""
    from datetime import datetime

    from config.models import OutboxJob
    from engage.models import Answer, AnswerRevision, Delivery, ParticipationEvent

    answer = Answer.objects.get(pk=answer_id)
    revision = AnswerRevision.objects.get(answer_id=answer_id)
    delivery = Delivery.objects.get(answer_id=answer_id)
    event = ParticipationEvent.objects.get(key=activity_key(ActivityKind.ANSWER_PUBLISHED, answer_id))
    job = OutboxJob.objects.get(task_name="engage.deliver", args=[delivery.pk, 0])
    query = answer.query
    names = {("id", answer.pk): "answer", ("id", query.pk): "query", ("id", delivery.pk): "delivery"}
    names |= {("ext", query.external_id): "query's external id"}
    reply = answer.in_reply_to
    if reply is not None and reply.query_id == query.pk:
        names |= {("id", reply.pk): "the message it answers", ("ext", reply.external_id): "its message's id"}

    def label(kind: str, value: Any) -> Any:
        return value if isinstance(value, dict | list) else names.get((kind, value), value)

    def columns(obj: Any, ids: tuple[str, ...] = ()) -> dict[str, Any]:
        out = {}
        for field in type(obj)._meta.concrete_fields:
            if field.primary_key:
                continue
            value = getattr(obj, field.attname)
            if isinstance(value, datetime):
                value = "a time"
            elif field.attname in ids:
                value = label("id", value)
            out[field.attname] = value
        return out

    payload = {key: label("ext", value) for key, value in delivery.payload.items()}
    payload["answer_id"] = label("id", payload["answer_id"])
    assert payload["published_at"] == answer.published_at.isoformat()
    payload["published_at"] = "a time"
    return {
        "answer": columns(answer, ("query_id", "in_reply_to_id")),
        "revision": columns(revision, ("answer_id",)),
        "delivery": {**columns(delivery, ("query_id", "answer_id")), "payload": payload},
        "event": {**columns(event, ("object_id",)), "key": "key", "data": {**event.data, "query_id": "query"}},
        "job": {**columns(job), "args": [label("id", job.args[0]), job.args[1]]},
        "revision submitted with the answer": revision.submitted_at == answer.submitted_at == answer.published_at,
    }


@pytest.mark.django_db
def test_the_one_statement_publish_writes_what_the_general_way_writes(
    api, responder, make_query, department, monkeypatch
) -> None:
    """The same answer published by the statement and by the ORM's way (which the statement
    stands in for when it applies) leaves the same rows, column by column."""
    from engage.services import answers

    fast_query, slow_query = make_query(department=department), make_query(department=department)
    client = api(responder)
    for query in (fast_query, slow_query):
        assert client.post(f"/api/v1/queries/{query.pk}/claim/").status_code == 200
    body = {"body": "Yes, **soon**: five ~~weeks~~ days."}
    with CaptureQueriesContext(connection) as captured:
        fast = client.post(f"/api/v1/queries/{fast_query.pk}/answers/", body, format="json")
    assert len(statements(captured)) == 2  # the token and the one statement
    monkeypatch.setattr(answers, "_answer_publish_one_statement", lambda **_kwargs: None)
    slow = client.post(f"/api/v1/queries/{slow_query.pk}/answers/", body, format="json")
    assert (fast.status_code, slow.status_code) == (201, 201), (fast.content, slow.content)
    fast_rows, slow_rows = _written(fast.json()["id"]), _written(slow.json()["id"])
    for table in fast_rows:
        assert fast_rows[table] == slow_rows[table], table
    assert (
        fast_rows["delivery"]["payload"]["body_html"]
        == "<p>Yes, <strong>soon</strong>: five <del>weeks</del> days.</p>\n"
    )
    mine = ("id", "query", "created_at", "submitted_at", "published_at")
    assert {k: v for k, v in fast.json().items() if k not in mine} == {
        k: v for k, v in slow.json().items() if k not in mine
    }


@pytest.mark.django_db
def test_the_privilege_condition_agrees_with_user_holds_privilege_at_its_edges(responder) -> None:
    from training.models import Certification
    from training.selectors import HOLDS_PRIVILEGE_SQL, user_holds_privilege

    certificate = Certification.objects.get(user=responder)
    edges = [
        certificate.issued_at - timedelta(microseconds=1),
        certificate.issued_at,
        certificate.expires_at - timedelta(microseconds=1),
        certificate.expires_at,
    ]
    for at in edges:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {HOLDS_PRIVILEGE_SQL}", {"user": responder.pk, "privilege": "responder", "now": at})
            in_sql = cursor.fetchone()[0]
        assert in_sql == user_holds_privilege(user=responder, privilege="responder", at=at), at
    assert [user_holds_privilege(user=responder, privilege="responder", at=at) for at in edges] == [
        False,
        True,
        True,
        False,
    ]


@pytest.mark.django_db
def test_with_a_broker_the_webhooks_job_is_left_to_the_relay(
    channel, settings, django_capture_on_commit_callbacks
) -> None:
    from config.models import OutboxJob
    from tests.engage.conftest import payload, signed_post

    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.ENGAGE_HOT_JOBS_BY_RELAY = True
    body = json.dumps(payload("relayed")).encode()
    with django_capture_on_commit_callbacks() as callbacks:
        response = signed_post(Client(), channel.url, channel.secret, body)
    assert response.status_code == 201
    assert callbacks == []  # nothing sent from the request
    assert OutboxJob.objects.filter(task_name="engage.route_query", args=[response.json()["id"]]).exists()
    settings.ENGAGE_HOT_JOBS_BY_RELAY = False
    with django_capture_on_commit_callbacks() as callbacks:
        response = signed_post(Client(), channel.url, channel.secret, json.dumps(payload("sent")).encode())
    assert response.status_code == 201
    assert len(callbacks) == 1  # sent right after the commit, as enqueue does


@pytest.mark.django_db
def test_the_statements_write_each_column_as_save_would(responder, channel) -> None:
    """``_saved_values`` stands in for ``pre_save(add=True)`` and ``get_db_prep_save``: for each
    model the hot statements write, from an instance's fields and from just the fields set."""
    from datetime import UTC, datetime

    from django.db.models import FileField

    from config.models import OutboxJob
    from engage import statements
    from engage.models import Answer, AnswerRevision, CustomerMessage, Delivery, ParticipationEvent

    moment = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    channel_id = channel.channel.pk
    given = {
        Query: {
            "channel_id": channel_id,
            "external_id": "x",
            "text": "t",
            "author_handle": "@a",
            "sla_due_at": moment,
        },
        CustomerMessage: {"channel_id": channel_id, "query_id": 1, "external_id": "x", "text": "t"},
        ParticipationEvent: {
            "kind": "k",
            "occurred_at": moment,
            "object_type": "o",
            "object_id": 1,
            "key": "k1",
            "data": {"a": 1},
        },
        Answer: {"query_id": 1, "author_id": responder.pk, "body": "b", "status": "published", "published_at": moment},
        AnswerRevision: {"answer_id": 1, "number": 1, "author_id": responder.pk, "body": "b", "message_ids": []},
        Delivery: {"kind": "answer", "channel_id": channel_id, "query_id": 1, "payload": {"p": 1}},
    }
    for model, fields_set in given.items():
        fields, _columns, _types = statements._insert_shape(model, ())
        instance = model(**fields_set)
        by_django = [f.get_db_prep_save(f.pre_save(instance, add=True), connection) for f in fields]
        for source in (vars(instance), fields_set):
            ours = statements._saved_values(fields, source)
            for field, mine, theirs in zip(fields, ours, by_django, strict=True):
                fresh = field.has_default() and callable(field.default) and field.attname not in source
                if fresh and isinstance(theirs, datetime):
                    continue  # the default's "now", taken anew by each
                assert getattr(mine, "obj", mine) == getattr(theirs, "obj", theirs), f"{model.__name__}.{field.name}"
    job_fields, _c, _t = statements._insert_shape(OutboxJob, ())
    job = OutboxJob(task_name="engage.deliver", args=[1, 0], kwargs={})
    created = job_fields.index(next(f for f in job_fields if f.name == "created_at"))
    assert statements._saved_values(job_fields, vars(job))[created] is not None  # auto_now_add: the time now

    with pytest.raises(TypeError, match="pre_save of its own"):
        statements._plain([FileField(name="attachment")])
