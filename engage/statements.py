"""The hot paths' hand-written statements, on PostgreSQL (``bench/RESULTS.md``, QUALITY.md).

Each function here is *one* SQL statement that does what the ORM did in several, so that a
claim or a queue page costs one round trip, one parse (prepared after the first use on a
connection) and no ORM compilation. The rules are not restated here: the visibility rule
comes from :func:`engage.selectors.visibility_scope`, the claim cap and lease from the
service that calls, the status from :class:`engage.models.QueryState`, the event's kind, key
and payload from :mod:`engage.participation`. The services call these only on PostgreSQL
(data-modifying ``WITH`` is PostgreSQL's) and keep their ORM form elsewhere; the API and
concurrency tests run against PostgreSQL and pin both the answers and the statement counts.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections, models
from django.db.models import Model
from django.utils import timezone

from config.activity import Activity, ActivityKind, activity_key
from config.models import OutboxJob
from engage.models import (
    Answer,
    AnswerRevision,
    Channel,
    CustomerMessage,
    Delivery,
    ParticipationEvent,
    Query,
    QueryDraft,
    QueryState,
)

_QUERY = Query._meta.db_table
_EVENT = ParticipationEvent._meta.db_table
_JOB = OutboxJob._meta.db_table
_QUERY_TOPICS = Query.topics.through._meta.db_table
_MESSAGE = CustomerMessage._meta.db_table

# psycopg parses a statement's text (its placeholders) once and keeps the result only for a
# text of at most 4096 bytes with at most 50 parameters; past either it parses it again on
# every execution. The long statements below are written to stay within both: whitespace
# collapsed, short type names, and empty columns as typed NULLs rather than parameters
# (a test holds each hot statement to the limits).
_SHORT_TYPES = {"timestamp with time zone": "timestamptz", "integer": "int4", "bigint": "int8", "smallint": "int2"}


def compact(sql: str) -> str:
    """``sql`` with each run of whitespace made one space (no statement here has a comment
    or a literal with whitespace in it)."""
    return " ".join(sql.split())


def _cast(field: Any) -> str:
    kind = str(field.cast_db_type(connection))
    return _SHORT_TYPES.get(kind, kind)


# The visibility rule (engage.selectors.visibility_scope) as a condition on alias ``q``.
VISIBLE = "(%(sees_all)s OR q.department_id IS NULL OR q.department_id = %(department)s)"

_CLAIM = f"""
WITH target AS (
    SELECT q.id FROM "{_QUERY}" q WHERE q.id = %(id)s AND {VISIBLE}
), live AS (
    SELECT count(*) AS n FROM "{_QUERY}"
    WHERE claimed_by_id = %(user)s AND state = %(open)s AND claimed_until > %(now)s AND id <> %(id)s
), won AS (
    UPDATE "{_QUERY}" SET
        claimed_by_id = %(user)s,
        claimed_at = CASE WHEN claimed_by_id = %(user)s AND claimed_until > %(now)s THEN claimed_at ELSE %(now)s END,
        claimed_until = %(until)s
    WHERE id = (SELECT id FROM target) AND state = %(open)s AND (SELECT n FROM live) < %(cap)s
      AND (claimed_by_id IS NULL OR claimed_until IS NULL OR claimed_until <= %(now)s OR claimed_by_id = %(user)s)
    RETURNING id, claimed_at = %(now)s AS fresh
), event AS (
    INSERT INTO "{_EVENT}" (kind, actor_id, department_id, occurred_at, object_type, object_id, key, data,
                            recorded_at)
    SELECT %(kind)s::text, %(user)s::bigint, %(actor_department)s::bigint, %(now)s::timestamptz,
           %(object_type)s::text, won.id, %(key)s::text, %(data)s::jsonb, %(now)s::timestamptz
    FROM won WHERE won.fresh
    ON CONFLICT (key) DO NOTHING
)
SELECT (SELECT id FROM target), (SELECT n FROM live), (SELECT fresh FROM won)
"""  # noqa: S608 (table names from the models; every value is a parameter)


@dataclass(frozen=True)
class ClaimOutcome:
    visible: bool
    live_claims: int
    won: bool
    renewed: bool


def claim(
    *,
    query_id: int,
    user_id: int,
    scope: tuple[bool, int | None],
    cap: int,
    now: datetime,
    until: datetime,
    event: Activity,
) -> ClaimOutcome:
    """Claim or renew in one statement: visibility, the cap, the conditional update, the event.

    Call inside a transaction, *after* locking the claimer's row: the live claims are then
    counted from a snapshot taken after the lock was granted, so one person's simultaneous
    claims cannot overshoot the cap. The conditional ``UPDATE`` decides between claimers of
    the same query (exactly one wins); ``claimed_at`` stays for a renewal, and only a new
    claim records its event (``event``, already built by :mod:`engage.participation`).
    """
    sees_all, department = scope
    params = {
        "id": query_id,
        "user": user_id,
        "sees_all": sees_all,
        "department": department,
        "open": QueryState.OPEN.value,
        "now": now,
        "until": until,
        "cap": cap,
        "kind": event.kind,
        "actor_department": event.department_id,
        "object_type": event.object_type,
        "key": event.key[:200],
        "data": json.dumps(event.data or {}),
    }
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM, params)
        visible, live, fresh = cursor.fetchone()
    return ClaimOutcome(visible=visible is not None, live_claims=live, won=fresh is not None, renewed=fresh is False)


_LOCK_PERSON = 'SELECT 1 FROM "accounts_user" WHERE id = %s FOR UPDATE'


def lock_person(user_id: int) -> None:
    """Lock the person's own row: serialises one person's claims (see :func:`claim`)."""
    with connection.cursor() as cursor:
        cursor.execute(_LOCK_PERSON, [user_id])


# --- The queue ------------------------------------------------------------------------------------

# The status filters of engage.selectors._filter_status, as conditions on ``q`` (a test compares
# the two on every status).
_STATUS = {
    "open": "q.state = 'open' AND (q.claimed_until IS NULL OR q.claimed_until <= %(now)s)",
    "claimed": "q.state = 'open' AND q.claimed_until > %(now)s",
    "state": "q.state = %(state)s",
    None: "TRUE",
}
_DEPARTMENT = {
    "slug": "q.department_id = (SELECT d.id FROM accounts_department d WHERE d.slug = %(department_slug)s)",
    "none": "q.department_id IS NULL",
    None: "TRUE",
}
QUEUE_COLUMNS = ("id", "channel__slug", "department__slug", "claimed_by__name", "external_id", "text",
                 "author_handle", "author_name", "url", "sender_created_at", "state", "priority", "claimed_by_id",
                 "claimed_until", "received_at", "sla_due_at", "answered_at", "close_reason", "escalated_at",
                 "topics")  # fmt: skip


@lru_cache(maxsize=64)
def _queue_sql(status: str | None, department: str | None, after: bool, limit: int) -> str:
    """One text per shape. The limit is written in (an int, never input text): with ``LIMIT $n``
    PostgreSQL's generic plan looks dearer than planning each time, and it re-plans forever."""
    keyset = "(q.sla_due_at > %(due)s OR (q.sla_due_at = %(due)s AND q.id > %(last_id)s))" if after else "TRUE"
    return f"""
SELECT q.id, c.slug, d.slug, u.name, q.external_id, q.text, q.author_handle, q.author_name, q.url,
       q.sender_created_at, q.state, q.priority, q.claimed_by_id, q.claimed_until, q.received_at, q.sla_due_at,
       q.answered_at, q.close_reason, q.escalated_at,
       ARRAY(SELECT t.slug FROM "{_QUERY_TOPICS}" qt JOIN accounts_topic t ON t.id = qt.topic_id
             WHERE qt.query_id = q.id ORDER BY t.created_at, t.id)
FROM "{_QUERY}" q
JOIN engage_channel c ON c.id = q.channel_id
LEFT JOIN accounts_department d ON d.id = q.department_id
LEFT JOIN accounts_user u ON u.id = q.claimed_by_id
WHERE {VISIBLE} AND {_STATUS[status]} AND {_DEPARTMENT[department]} AND {keyset}
ORDER BY q.sla_due_at, q.id
LIMIT {int(limit)}
"""  # noqa: S608 (fixed fragments; every value is a parameter)


def queue_rows(
    *,
    scope: tuple[bool, int | None],
    status: str | None,
    department_slug: str | None,
    after: tuple[datetime, int] | None,
    limit: int,
    now: datetime,
) -> list[dict[str, Any]]:
    """Up to ``limit`` rows of the queue, earliest due first, in one statement, topics included.

    ``status`` is a :class:`~engage.models.QueryStatus` value or ``None``; ``department_slug``
    a slug, ``"none"`` for unrouted, or ``None`` for every department. An unknown slug gives
    no rows (the caller tells it apart, off the hot path).
    """
    sees_all, department = scope
    status_kind = status if status in ("open", "claimed", None) else "state"
    department_kind = None if department_slug is None else ("none" if department_slug == "none" else "slug")
    params: dict[str, Any] = {"sees_all": sees_all, "department": department, "now": now, "state": status,
                              "department_slug": department_slug}  # fmt: skip
    if after is not None:
        params["due"], params["last_id"] = after
    with connection.cursor() as cursor:
        cursor.execute(_queue_sql(status_kind, department_kind, after is not None, limit), params)
        return [dict(zip(QUEUE_COLUMNS, row, strict=True)) for row in cursor.fetchall()]


# --- Receipt of a webhook -------------------------------------------------------------------------

_CHANNEL_FIELDS = [f.attname for f in Channel._meta.concrete_fields]
_CHANNEL_BY_SLUG = (
    f"SELECT {', '.join(f'c.{f.column}' for f in Channel._meta.concrete_fields)} "  # noqa: S608 (names from the model)
    f'FROM "{Channel._meta.db_table}" c WHERE c.slug = %s'
)


@lru_cache(maxsize=1)
def _channel_converters() -> list[tuple[Any, list[Any]]]:
    """Per column, what the ORM applies to the raw value (the JSON columns' text, for one)."""
    table = Channel._meta.db_table
    out = []
    for f in Channel._meta.concrete_fields:
        column = f.get_col(table)
        out.append((column, connection.ops.get_db_converters(column) + f.get_db_converters(connection)))
    return out


def channel_by_slug(slug: str) -> Channel | None:
    """The channel a webhook names (the slug is unique), in one fixed statement: the same row
    ``Channel.objects.filter(slug=slug).first()`` reads, without building and compiling that
    query on every delivery (it cost the webhook more than its own statement's Python).
    Checked against the database on every call: a rotated secret verifies nothing stale."""
    with connection.cursor() as cursor:
        cursor.execute(_CHANNEL_BY_SLUG, [slug])
        row = cursor.fetchone()
    if row is None:
        return None
    values = []
    for (column, converters), value in zip(_channel_converters(), row, strict=True):
        for converter in converters:
            value = converter(value, column, connection)
        values.append(value)
    return Channel.from_db(DEFAULT_DB_ALIAS, _CHANNEL_FIELDS, values)


@lru_cache(maxsize=32)
def _insert_shape(model: type[Model], skip: tuple[str, ...]) -> tuple[list[Any], str, tuple[str, ...]]:
    fields = _plain([f for f in model._meta.concrete_fields if not f.primary_key and f.attname not in skip])
    columns = ", ".join(f'"{f.column}"' for f in fields)
    return fields, columns, tuple(_cast(f) for f in fields)


# The fields whose pre_save :func:`_saved_values` stands in for: the value as set, or the time
# now for auto_now/auto_now_add. A field with a pre_save of its own (a file, say) stops the
# statement being built rather than be written differently from save().
_PRE_SAVES = {models.Field.pre_save, models.DateField.pre_save, models.DateTimeField.pre_save}


def _plain(fields: list[Any]) -> list[Any]:
    for f in fields:
        if type(f).pre_save not in _PRE_SAVES:
            raise TypeError(f"{f.name} has a pre_save of its own: write it with the ORM")
    return fields


@lru_cache(maxsize=64)
def _insert_marks(types: tuple[str, ...], nulls: tuple[bool, ...]) -> str:
    return ", ".join(f"NULL::{kind}" if null else f"%s::{kind}" for kind, null in zip(types, nulls, strict=True))


def _insert_parts(obj: Model, *, skip: tuple[str, ...] = ()) -> tuple[str, str, list[Any]]:
    """Column list, typed placeholders and values of an unsaved instance, as ``save`` writes them.

    The placeholders carry the column's type (``%s::bigint``): in ``INSERT … SELECT`` an
    untyped parameter would be read as text. A ``None`` is written into the text as a typed
    ``NULL`` instead of a parameter: a new query's row is mostly empty columns, and with
    them as parameters the webhook's statement had over 50, past which psycopg converts
    (parses) the statement's text again on every execution instead of once.
    """
    fields, columns, types = _insert_shape(type(obj), skip)
    values = _saved_values(fields, vars(obj))
    marks = _insert_marks(types, tuple(value is None for value in values))
    return columns, marks, [value for value in values if value is not None]


def _saved_values(fields: list[Any], given: Mapping[str, Any]) -> list[Any]:
    """What ``save`` writes for a new row whose fields are ``given`` by attname (an unsaved
    instance's ``vars()``, or just the fields a caller sets): as ``pre_save(add=True)`` then
    ``get_db_prep_save``, a missing field taking its default and an ``auto_now``/``auto_now_add``
    one the time now. A default that is a constant is prepared once per field."""
    db = connections[DEFAULT_DB_ALIAS]  # the connection itself, not the proxy each field would look it up through
    values = []
    for f in fields:
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            values.append(f.get_db_prep_save(timezone.now(), db))
        elif f.attname in given:
            values.append(f.get_db_prep_save(given[f.attname], db))
        elif f.has_default() and callable(f.default):
            values.append(f.get_db_prep_save(f.get_default(), db))
        else:
            values.append(_constant_default(f))
    return values


@lru_cache(maxsize=256)
def _constant_default(field: Any) -> Any:
    return field.get_db_prep_save(field.get_default(), connections[DEFAULT_DB_ALIAS])


@lru_cache(maxsize=32)  # one text per pattern of empty columns (a sender's time given or not, ...)
def _receive_sql(query: tuple[str, str], message: tuple[str, str], event: tuple[str, str], job: tuple[str, str]) -> str:
    # The query is not written when a follow-up already used its external id (the message's
    # unique key spans first messages and follow-ups): that delivery's query answers instead.
    return compact(f"""
WITH ins AS (
    INSERT INTO "{_QUERY}" ({query[0]}) SELECT {query[1]}
    WHERE NOT EXISTS (SELECT 1 FROM "{_MESSAGE}" m WHERE m.channel_id = %s AND m.external_id = %s)
    ON CONFLICT (channel_id, external_id) DO NOTHING
    RETURNING id
), message AS (
    INSERT INTO "{_MESSAGE}" ({message[0]}, query_id) SELECT {message[1]}, ins.id FROM ins
    ON CONFLICT (channel_id, external_id) DO NOTHING
), event AS (
    INSERT INTO "{_EVENT}" ({event[0]}, object_id, key)
    SELECT {event[1]}, ins.id, %s::text || ins.id FROM ins
    ON CONFLICT (key) DO NOTHING
), job AS (
    INSERT INTO "{_JOB}" ({job[0]}, args)
    SELECT {job[1]}, jsonb_build_array(ins.id) FROM ins
    RETURNING id
)
SELECT (SELECT id FROM ins), (SELECT id FROM job),
       COALESCE((SELECT q.id FROM "{_QUERY}" q WHERE q.channel_id = %s AND q.external_id = %s),
                (SELECT m.query_id FROM "{_MESSAGE}" m WHERE m.channel_id = %s AND m.external_id = %s))
""")  # noqa: S608 (names from the models; every value is a parameter)


@dataclass(frozen=True)
class Received:
    query_id: int | None  # None: a delivery racing this one holds the row and has not committed yet
    created: bool
    job: OutboxJob | None


def receive(
    *, query: Query, message: CustomerMessage, event: ParticipationEvent, key_prefix: str, job: OutboxJob
) -> Received:
    """Store a delivered query with its first message, its event and its job in one
    statement, or find it stored.

    ``query``, ``message``, ``event`` and ``job`` are unsaved instances built by the service
    (their defaults and values come from the models); the message's query, the event's
    ``object_id`` and ``key`` and the job's ``args`` are the new query's id, known only
    inside the statement. A redelivery hits the unique ``(channel, external_id)`` and
    writes nothing.
    """
    query_columns, query_marks, query_values = _insert_parts(query)
    message_columns, message_marks, message_values = _insert_parts(message, skip=("query_id",))
    event_columns, event_marks, event_values = _insert_parts(event, skip=("object_id", "key"))
    job_columns, job_marks, job_values = _insert_parts(job, skip=("args",))
    sql = _receive_sql(
        (query_columns, query_marks), (message_columns, message_marks), (event_columns, event_marks),
        (job_columns, job_marks),
    )  # fmt: skip
    key = [query.channel_id, query.external_id]
    params = [*query_values, *key, *message_values, *event_values, key_prefix, *job_values, *key, *key]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        new_id, job_id, existing = cursor.fetchone()
    if new_id is None:
        return Received(query_id=existing, created=False, job=None)
    job.pk = job_id
    job.args = [new_id]
    return Received(query_id=new_id, created=True, job=job)


# --- Publishing an answer ---------------------------------------------------------------------------

_ANSWER = Answer._meta.db_table
_DELIVERY = Delivery._meta.db_table
_DRAFT = QueryDraft._meta.db_table
_REVISION = AnswerRevision._meta.db_table


def _column(model: type[Model], attname: str) -> str:
    return str(next(f.column for f in model._meta.concrete_fields if f.attname == attname))


@lru_cache(maxsize=16)
def _named_shape(model: type[Model], overrides: tuple[tuple[str, str], ...]) -> tuple[list[Any], str, tuple[str, ...]]:
    skip = tuple(name for name, _sql in overrides)
    fields = _plain([f for f in model._meta.concrete_fields if not f.primary_key and f.attname not in skip])
    columns = ", ".join([*(f'"{f.column}"' for f in fields), *(f'"{_column(model, name)}"' for name in skip)])
    return fields, columns, tuple(_cast(f) for f in fields)


@lru_cache(maxsize=64)
def _named_marks(
    prefix: str, types: tuple[str, ...], nulls: tuple[bool, ...], overrides: tuple[tuple[str, str], ...]
) -> str:
    marks = [
        f"NULL::{kind}" if null else f"%({prefix}{n})s::{kind}"
        for n, (kind, null) in enumerate(zip(types, nulls, strict=True))
    ]
    return ", ".join([*marks, *(e for _n, e in overrides)])


def _named(
    model: type[Model], given: Mapping[str, Any], prefix: str, overrides: tuple[tuple[str, str], ...] = ()
) -> tuple[str, str, dict[str, Any]]:
    """A new row's columns, typed named placeholders and values (as ``save`` writes them, see
    :func:`_saved_values`), some columns given instead as SQL expressions (what depends on a
    new id). A ``None`` is a typed ``NULL`` in the text, not a parameter (as in
    :func:`_insert_parts`)."""
    fields, columns, types = _named_shape(model, overrides)
    values = _saved_values(fields, given)
    marks = _named_marks(prefix, types, tuple(value is None for value in values), overrides)
    return columns, marks, {f"{prefix}{n}": value for n, value in enumerate(values) if value is not None}


_ANSWER_IDS = (
    ("turn", "ok.turn"),
    ("in_reply_to_id", "ok.reply_id"),
)
_EVENT_IDS = (
    ("object_id", "a.id"),
    ("key", f"'{activity_key(ActivityKind.ANSWER_PUBLISHED, '')}' || a.id"),
    ("data", "%(event_data)s::jsonb || jsonb_build_object('query_department_id', ok.department_id)"),
)
_DELIVERY_IDS = (
    ("channel_id", "ok.channel_id"),
    ("answer_id", "a.id"),
    (
        # engage.services.answer_payload: the byline is a parameter, the ids and the text the rows'.
        "payload",
        "%(payload)s::jsonb || jsonb_build_object('answer_id', a.id, 'query_external_id', ok.external_id, "
        "'thread_id', ok.external_id, 'in_reply_to', ok.reply_external_id, 'body', a.body, 'body_html', a.body_html)",
    ),
)
# engage.deliver(delivery_id, attempt): the first attempt, as delivery_create_for_answer queues it.
_JOB_IDS = (("args", "jsonb_build_array(d.id, 0)"),)
# The first revision is the answer as submitted: its text, author and time are the new row's.
_REVISION_IDS = (
    ("answer_id", "a.id"),
    ("author_id", "a.author_id"),
    ("body", "a.body"),
    ("body_html", "a.body_html"),
    ("submitted_at", "a.submitted_at"),
)


@dataclass(frozen=True)
class Published:
    visible: bool
    state: str | None
    claimed_by_id: int | None
    claimed_until: datetime | None
    responder: bool
    has_returned_draft: bool
    answer_id: int | None
    job: OutboxJob | None


@lru_cache(maxsize=16)
def _publish_sql(
    a: tuple[str, str], e: tuple[str, str], d: tuple[str, str], j: tuple[str, str], r: tuple[str, str]
) -> str:
    from training.selectors import HOLDS_PRIVILEGE_SQL

    (a_columns, a_marks), (e_columns, e_marks), (d_columns, d_marks) = a, e, d
    (j_columns, j_marks), (r_columns, r_marks) = j, r
    return compact(f"""
WITH q AS (
    SELECT q.id, q.state, q.claimed_by_id, q.claimed_until, q.channel_id, q.department_id, q.external_id, q.turn,
           q.latest_message_id, q.latest_external_id,
           {HOLDS_PRIVILEGE_SQL} AS responder,
           EXISTS (SELECT 1 FROM "{_ANSWER}" r WHERE r.query_id = q.id AND r.author_id = %(user)s
                   AND r.status = 'draft') AS returned
    FROM "{_QUERY}" q WHERE q.id = %(id)s AND {VISIBLE}
    FOR UPDATE OF q
), ok AS (
    SELECT q.*,
           COALESCE(q.latest_message_id, (SELECT m.id FROM "{_MESSAGE}" m
                                          WHERE m.query_id = q.id AND m.external_id = q.external_id)) AS reply_id,
           COALESCE(NULLIF(q.latest_external_id, ''), q.external_id) AS reply_external_id
    FROM q
    WHERE q.state = 'open' AND q.claimed_by_id = %(user)s AND q.claimed_until > %(now)s AND q.responder
          AND NOT q.returned
), a AS (
    INSERT INTO "{_ANSWER}" ({a_columns}) SELECT {a_marks} FROM ok
    RETURNING id, turn, in_reply_to_id, author_id, body, body_html, submitted_at
), rev AS (
    INSERT INTO "{_REVISION}" ({r_columns}) SELECT {r_marks} FROM a
), answered AS (
    UPDATE "{_QUERY}" SET state = 'answered', answered_at = COALESCE(answered_at, %(now)s), claimed_until = NULL
    WHERE id = %(id)s AND EXISTS (SELECT 1 FROM a)
), event AS (
    INSERT INTO "{_EVENT}" ({e_columns}) SELECT {e_marks} FROM a, ok ON CONFLICT (key) DO NOTHING
), d AS (
    INSERT INTO "{_DELIVERY}" ({d_columns}) SELECT {d_marks} FROM a, ok RETURNING id
), job AS (
    INSERT INTO "{_JOB}" ({j_columns}) SELECT {j_marks} FROM d RETURNING id
), draft AS (
    DELETE FROM "{_DRAFT}" WHERE query_id = %(id)s AND author_id = %(user)s AND EXISTS (SELECT 1 FROM a)
)
SELECT q.state, q.claimed_by_id, q.claimed_until, q.responder, q.returned,
       (SELECT id FROM a), (SELECT id FROM d), (SELECT id FROM job), (SELECT turn FROM a),
       (SELECT in_reply_to_id FROM a)
FROM (SELECT 1) AS one LEFT JOIN q ON TRUE
""")  # noqa: S608 (names from the models; every value is a parameter)


def publish(
    *,
    scope: tuple[bool, int | None],
    answer: Answer,
    event: Mapping[str, Any],
    delivery: Mapping[str, Any],
    job: OutboxJob,
    revision: Mapping[str, Any],
) -> Published:
    """A certified responder's new answer, published in one statement (atomic on its own).

    In one go: the query locked if the person may see it (visibility), the live claim, the
    certification (training's rule, :data:`training.selectors.HOLDS_PRIVILEGE_SQL`) and the
    absence of an answer a reviewer sent back checked; then the answer written, the query
    marked answered, its first revision (``published``: engage.threads keeps every
    submission), its event, its delivery and the delivery's job written, and the author's
    draft dropped. Nothing is written unless every check holds; the result says
    which did not. The answer and the job are unsaved instances, the event, the delivery and
    the revision the fields the service sets (the rest take their defaults); what depends on
    the new ids (the event's object and key, the delivery's answer and payload ids, the job's
    argument) is filled in here.
    """
    a_columns, a_marks, a_values = _named(Answer, vars(answer), "a", _ANSWER_IDS)
    e_columns, e_marks, e_values = _named(ParticipationEvent, event, "e", _EVENT_IDS)
    d_columns, d_marks, d_values = _named(Delivery, delivery, "d", _DELIVERY_IDS)
    j_columns, j_marks, j_values = _named(OutboxJob, vars(job), "j", _JOB_IDS)
    r_columns, r_marks, r_values = _named(AnswerRevision, revision, "r", _REVISION_IDS)
    sql = _publish_sql(
        (a_columns, a_marks), (e_columns, e_marks), (d_columns, d_marks), (j_columns, j_marks), (r_columns, r_marks)
    )
    sees_all, department = scope
    event_data = dict(event["data"])
    event_data.pop("query_department_id", None)
    payload = dict(delivery["payload"])
    params = {
        "id": answer.query_id, "user": answer.author_id, "now": answer.published_at, "sees_all": sees_all,
        "department": department, "privilege": "responder", "event_data": json.dumps(event_data),
        "payload": json.dumps(payload), **a_values, **e_values, **d_values, **j_values, **r_values,
    }  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        state, holder, until, responder, returned, answer_id, delivery_id, job_id, turn, reply_id = cursor.fetchone()
    if answer_id is not None:
        answer.pk, job.pk = answer_id, job_id
        answer.turn, answer.in_reply_to_id = turn, reply_id
        job.args = [delivery_id, 0]
    return Published(
        visible=state is not None, state=state, claimed_by_id=holder, claimed_until=until,
        responder=bool(responder), has_returned_draft=bool(returned), answer_id=answer_id,
        job=job if answer_id is not None else None,
    )  # fmt: skip


# --- The query page's read -------------------------------------------------------------------------

_QUERY_FIELDS = [f.attname for f in Query._meta.concrete_fields]


@lru_cache(maxsize=1)
def _query_converters() -> list[tuple[Any, list[Any]]]:
    """Per column of a query, what the ORM applies to the raw value."""
    out = []
    for f in Query._meta.concrete_fields:
        column = f.get_col(_QUERY)
        out.append((column, connection.ops.get_db_converters(column) + f.get_db_converters(connection)))
    return out


@lru_cache(maxsize=1)
def _query_page_sql() -> str:
    from accounts.models import Department, Topic, User
    from engage.models import QueryHandoff, QueryNote

    columns = ", ".join(f'q."{f.column}"' for f in Query._meta.concrete_fields)
    users, topics = User._meta.db_table, Topic._meta.db_table
    return compact(f"""
SELECT {columns}, c.name, d.name, holder.name, closer.name,
       (SELECT json_build_object('id', s.id, 'body', s.body, 'message_ids', s.message_ids) FROM "{_DRAFT}" s
        WHERE s.query_id = q.id AND s.author_id = %(user)s),
       EXISTS (SELECT 1 FROM "{_MESSAGE}" m WHERE m.query_id = q.id OFFSET 1),
       EXISTS (SELECT 1 FROM "{QueryNote._meta.db_table}" n WHERE n.query_id = q.id),
       EXISTS (SELECT 1 FROM "{QueryHandoff._meta.db_table}" h WHERE h.query_id = q.id),
       (SELECT COALESCE(json_agg(json_build_object('id', t.id, 'slug', t.slug, 'name', t.name)
                                 ORDER BY t.created_at, t.id), '[]'::json)
        FROM "{topics}" t JOIN "{_QUERY_TOPICS}" qt ON qt.topic_id = t.id WHERE qt.query_id = q.id)
FROM "{_QUERY}" q
LEFT JOIN "{Channel._meta.db_table}" c ON c.id = q.channel_id
LEFT JOIN "{Department._meta.db_table}" d ON d.id = q.department_id
LEFT JOIN "{users}" holder ON holder.id = q.claimed_by_id
LEFT JOIN "{users}" closer ON closer.id = q.closed_by_id
WHERE q.id = %(id)s AND {VISIBLE}
""")  # noqa: S608 (names from the models; every value is a parameter)


@dataclass(frozen=True)
class QueryPageRow:
    query: Query  # its channel, department, holder and closer attached with their names
    topics: list[dict[str, Any]]  # id, slug, name, in the topics' order
    saved_draft: dict[str, Any] | None  # the reader's: id, body, message_ids
    has_followups: bool
    has_notes: bool
    has_handoffs: bool


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def query_page(*, id: int, user_id: int, scope: tuple[bool, int | None]) -> QueryPageRow | None:
    """The query page's read (:func:`engage.selectors.query_page_for_user`) in one fixed
    statement: the query if ``scope`` (:func:`engage.selectors.visibility_scope`) sees it,
    with what the page shows beside it; ``None`` if it does not."""
    from accounts.models import Department, User

    sees_all, department = scope
    with connection.cursor() as cursor:
        cursor.execute(_query_page_sql(), {"id": id, "user": user_id, "sees_all": sees_all, "department": department})
        row = cursor.fetchone()
    if row is None:
        return None
    width = len(_QUERY_FIELDS)
    values = []
    for (column, converters), value in zip(_query_converters(), row[:width], strict=True):
        for converter in converters:
            value = converter(value, column, connection)
        values.append(value)
    query = Query.from_db(DEFAULT_DB_ALIAS, _QUERY_FIELDS, values)
    channel, department_name, holder, closer, draft, followups, notes, handoffs, topics = row[width:]
    related: list[tuple[str, type[Model], int | None, str | None]] = [
        ("channel", Channel, query.channel_id, channel),
        ("department", Department, query.department_id, department_name),
        ("claimed_by", User, query.claimed_by_id, holder),
        ("closed_by", User, query.closed_by_id, closer),
    ]
    for name, model, pk, label in related:
        if pk is not None:
            setattr(query, name, model.from_db(DEFAULT_DB_ALIAS, ["id", "name"], [pk, label]))
    return QueryPageRow(
        query=query,
        topics=_json(topics),
        saved_draft=_json(draft),
        has_followups=bool(followups),
        has_notes=bool(notes),
        has_handoffs=bool(handoffs),
    )


# --- The query page's similar answered queries ---------------------------------------------------

_SIMILAR_BY = {
    "topics": f'AND EXISTS (SELECT 1 FROM "{_QUERY_TOPICS}" qt '  # noqa: S608 (the table's name from the model)
    "WHERE qt.query_id = q.id AND qt.topic_id = ANY(%(topics)s))",
    "department": "AND q.department_id = %(by_department)s",
    "any": "",
}


@lru_cache(maxsize=4)
def _similar_sql(by: str) -> str:
    from accounts.models import User

    return compact(f"""
SELECT q.id, q.text,
       (SELECT COALESCE(json_agg(json_build_object('id', a.id, 'body_html', a.body_html, 'published_at', a.published_at,
                                                   'author_id', a.author_id, 'author', u.name)
                                 ORDER BY a.created_at DESC, a.id DESC), '[]'::json)
        FROM "{_ANSWER}" a JOIN "{User._meta.db_table}" u ON u.id = a.author_id
        WHERE a.query_id = q.id AND a.status = %(published)s)
FROM "{_QUERY}" q
WHERE {VISIBLE} AND q.state = %(answered)s AND q.id <> %(id)s {_SIMILAR_BY[by]}
ORDER BY q.answered_at DESC, q.id DESC LIMIT %(limit)s
""")  # noqa: S608 (names from the models; fixed fragments; every value is a parameter)


def similar_answered(
    *, id: int, topic_ids: list[int], department_id: int | None, scope: tuple[bool, int | None], limit: int
) -> list[tuple[int, str, list[dict[str, Any]]]]:
    """:func:`engage.selectors.similar_answered_with_answers` in one fixed statement: per
    similar answered query (sharing a topic, else the department), its id, its text and its
    published answers (id, body_html, published_at as text, author_id, author's name),
    newest first, under the visibility rule ``scope``."""
    from engage.models import AnswerStatus

    by = "topics" if topic_ids else "department" if department_id else "any"
    sees_all, department = scope
    params: dict[str, Any] = {
        "id": id, "topics": topic_ids, "by_department": department_id, "sees_all": sees_all,
        "department": department, "limit": limit, "answered": QueryState.ANSWERED, "published": AnswerStatus.PUBLISHED,
    }  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(_similar_sql(by), params)
        return [(pk, text, _json(answers)) for pk, text, answers in cursor.fetchall()]
