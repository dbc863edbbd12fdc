"""Web pages of community queries: the department queue (live both ways without a reload,
see ``engage.queue_feed``), the query page (claim, release, answer with approved messaging
at hand, escalate, close, turn into an insight), the reviewers' section of the one review
queue, the insights board, and for administrators the dead letters and the channels.

Thin: every rule is in ``engage.services`` (writes) and ``engage.selectors`` (reads), the
same functions the API calls. Visibility first: what a person may not see is a 404.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages as flash
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import Department, RoleName, Topic, User
from accounts.permissions import require_role, signed_in
from config.errors import ServiceError
from config.markdown import render_markdown
from engage import (
    connectors,
    handoff,
    policy,
    queue_feed,
    queue_search,
    ratings,
    selectors,
    services,
    suggestions,
    threads,
)
from engage.models import (
    AnswerStatus,
    Channel,
    ChannelKind,
    CloseReason,
    ConnectorKind,
    DeliveryStatus,
    InsightStatus,
    Priority,
    QueryStatus,
    insight_moves_from,
)

QUEUE_PAGE_SIZE = 50
SUGGESTED_MESSAGES = 5
SIMILAR_ANSWERED = 3
PER_PAGE = 30

QUEUE_STATUSES = [
    ("open", "Open"),
    ("claimed", "Claimed"),
    ("pending_review", "In review"),
    ("answered", "Answered"),
    ("closed", "Closed"),
    ("", "Any status"),
]


def _is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _ids(values: list[str], *, limit: int) -> list[int]:
    """Whole positive numbers from form values; anything else is dropped."""
    ids: list[int] = []
    for value in values[:limit]:
        value = value.strip()
        if value.isdigit() and len(value) < 19:
            ids.append(int(value))
    return list(dict.fromkeys(ids))


def _back(request: HttpRequest, default: str) -> str:
    """The page named by ``next`` when it is one of ours, else ``default``."""
    target = request.POST.get("next") or ""
    if target.startswith("/") and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return default


def _query_url(query_id: int) -> str:
    return reverse("engage:query_detail", args=[query_id])


# --- The queue -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueFilters:
    status: str
    topic: str
    department: str
    mine: bool
    q: str = ""
    channel: str = ""
    priority: str = ""
    overdue: bool = False

    def as_query_string(self, **extra: str) -> str:
        params = {"q": self.q, "status": self.status, "topic": self.topic, "department": self.department}
        params.update({"channel": self.channel, "priority": self.priority})
        if self.overdue:
            params["overdue"] = "1"
        if self.mine:
            params["mine"] = "1"
        params.update(extra)
        # status and department stay even when empty: "any status", "every department" differ from the defaults.
        kept = {key: value for key, value in params.items() if value != "" or key in ("status", "department")}
        return urlencode(kept)

    @property
    def narrowed(self) -> bool:
        return bool(self.q or self.topic or self.channel or self.priority or self.overdue or self.mine)


def _queue_filters(params: QueryDict, user: User) -> QueueFilters:
    status = params.get("status", "open")
    if status not in {value for value, _label in QUEUE_STATUSES}:
        status = "open"
    department = params.get("department")
    if department is None:
        # People who see every department start on their own; the others see theirs and unrouted ones.
        department = user.department.slug if selectors.sees_all_queries(user) and user.department else ""
    if not selectors.sees_all_queries(user):
        department = ""
    priority = params.get("priority") or ""
    return QueueFilters(
        status=status,
        topic=(params.get("topic") or "")[:60],
        department=department[:60],
        mine=params.get("mine") in {"1", "on", "true"},
        q=" ".join((params.get("q") or "").split())[: queue_search.MAX_SEARCH_LENGTH],
        channel=(params.get("channel") or "")[:60],
        priority=priority if priority in Priority.values else "",
        overdue=params.get("overdue") in {"1", "on", "true"},
    )


def _queue_queryset(user: User, filters: QueueFilters) -> Any:
    now = timezone.now()
    queries = selectors.query_list(
        user=user,
        status=filters.status or None,
        department=filters.department or None,
        topic=filters.topic or None,
        mine=filters.mine,
        now=now,
    )
    return queue_search.narrow(
        queries, text=filters.q, channel=filters.channel, priority=filters.priority, overdue=filters.overdue, now=now
    )


@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    """The department queue: earliest due first (oldest and most urgent), keyset-paginated."""
    user = signed_in(request)
    filters = _queue_filters(request.GET, user)
    now = timezone.now()
    try:
        page = selectors.queue_page(
            _queue_queryset(user, filters), cursor=request.GET.get("cursor") or None, page_size=QUEUE_PAGE_SIZE
        )
    except ServiceError as exc:
        flash.error(request, exc.message)
        return redirect(reverse("engage:queue"))
    sees_all = selectors.sees_all_queries(user)
    cursor = request.GET.get("cursor") or None
    scope = _feed_scope(user, filters, cursor)
    live = {"cursor": cursor} if cursor else {}
    context = {
        "rows": [(query, query.status_at(now), queue_feed.row_signature(query, now)) for query in page.results],
        "etag": queue_feed.fingerprint_of(page.results, now, scope=scope).etag,
        "feed_url": (
            f"{reverse('engage:queue_live')}?{filters.as_query_string(**live, t=queue_feed.feed_token(request, scope))}"
        ),
        "back_url": request.get_full_path(),
        "filters": filters,
        "statuses": QUEUE_STATUSES,
        "topics": Topic.objects.order_by("name").only("slug", "name"),
        "channels": Channel.objects.order_by("name").only("slug", "name"),
        "priorities": Priority.choices,
        "departments": Department.objects.order_by("name").only("slug", "name") if sees_all else None,
        "next_url": (
            f"{reverse('engage:queue')}?{filters.as_query_string(cursor=page.next_cursor)}"
            if page.next_cursor
            else None
        ),
        "first_url": f"{reverse('engage:queue')}?{filters.as_query_string()}",
        "paged": bool(request.GET.get("cursor")),
        "now": now,
        "scope": _scope_label(user, filters),
        "held": selectors.live_claim_count(user=user, now=now),
        "cap": services.max_open_claims(),
    }
    return render(request, "engage/queue.html", context)


def _scope_label(user: User, filters: QueueFilters) -> str:
    if filters.department == "none":
        return "Unrouted queries"
    if filters.department:
        name = Department.objects.filter(slug=filters.department).values_list("name", flat=True).first()
        return name or filters.department
    if selectors.sees_all_queries(user):
        return "Every department"
    if user.department is not None:
        return f"{user.department.name} and unrouted"
    return "Unrouted queries"


def _feed_scope(user: User, filters: QueueFilters, cursor: str | None) -> str:
    sees_all, department_id = selectors.visibility_scope(user)
    return queue_feed.scope_key(
        sees_all=sees_all,
        department_id=department_id,
        mine_of=user.pk if filters.mine else None,
        filters=filters.as_query_string(**({"cursor": cursor} if cursor else {})),
    )


@require_GET
def queue_live(request: HttpRequest) -> HttpResponse:
    """Polled by the queue page (``engage.queue_feed``): 304 while the page it shows is
    current (most often by the middleware, before the session is even read); else the page's new
    order and the rows it lacks or shows out of date."""
    # The cached 304 was answered before this view (engage.queue_feed.NotModifiedMiddleware).
    user = signed_in(request)
    filters = _queue_filters(request.GET, user)
    cursor = request.GET.get("cursor") or None
    try:
        return queue_feed.feed_response(
            request,
            queries=_queue_queryset(user, filters),
            cursor=cursor,
            page_size=QUEUE_PAGE_SIZE,
            now=timezone.now(),
            back_url=queue_feed.queue_url(filters.as_query_string(**({"cursor": cursor} if cursor else {}))),
            scope=_feed_scope(user, filters, cursor),
        )
    except ServiceError as exc:
        return HttpResponse(exc.message, status=400, content_type="text/plain; charset=utf-8")


# --- One query -----------------------------------------------------------------------------------


def _message_texts(user: User, ids: list[int]) -> list[Any]:
    from content.selectors import messages_visible_to

    if not ids:
        return []
    found = {m.pk: m for m in messages_visible_to(user=user).filter(pk__in=ids).only("id", "title")}
    return [found[pk] for pk in ids if pk in found]


@never_cache
@require_GET
def query_detail(request: HttpRequest, pk: int) -> HttpResponse:
    from content.selectors import messages_search

    user = signed_in(request)
    page = selectors.query_page_for_user(user=user, id=pk)
    query = page.query
    now = timezone.now()
    status = query.status_at(now)
    holds = query.holds_live_claim(user.pk, now)
    # The query's answers, with their reviewers and the customer's ratings, read once: the
    # page, the thread, the draft sent back and the revisions take theirs from this list.
    answers: list[Any] = list(
        selectors.answers_of_query(user=user, query=query)
        .prefetch_related(None)
        .select_related("reviewed_by", "rating")
    )
    for each in answers:
        each.customer_rating = getattr(each, "rating", None) if each.status == AnswerStatus.PUBLISHED else None
    offered = selectors.draft_offered_to(user=user, query=query, answers=answers, page=page)
    in_review = next((a for a in answers if a.status == AnswerStatus.PENDING_REVIEW), None)
    published = next((a for a in answers if a.status == AnswerStatus.PUBLISHED), None)
    draft_ids = offered.message_ids if offered else []
    unsent = request.session.pop(_unsent_key(pk), None) if holds else None
    # What the page offers is what the services accept: engage.policy, read here.
    can = {
        "can_claim": policy.query_claim(user, query, now) is None,
        "can_escalate": policy.query_escalate(user, query, now) is None,
        "can_close": policy.query_close(user, query, now) is None,
        "can_hand_off": policy.query_hand_off(user, query, now) is None,
        "review_here": in_review is not None and policy.answer_review(user, in_review) is None,
        "own_in_review": in_review is not None and policy.answer_is_own(user, in_review),
    }
    context = {
        "unsent": unsent,
        "escalate_kept": _refused(request, f"escalate:{pk}"),
        "insight_kept": _refused(request, f"insight:{pk}"),
        "query": query,
        "topics": page.topics,
        "status": status,
        "now": now,
        "holds": holds,
        "held_by_other": status == QueryStatus.CLAIMED and not holds,
        **can,
        "responder": services.user_is_responder(user=user) if holds else False,
        "offered": offered,
        "draft_messages": _message_texts(user, draft_ids),
        "answers": answers,
        "in_review": in_review,
        "published": published,
        "deliveries": list(selectors.deliveries_of_query(query=query)) if published and status == "answered" else [],
        "suggestions": [
            (message, suggestions.versions_of(message))
            for message in messages_search(
                user=user, text=query.text, limit=SUGGESTED_MESSAGES, fields=suggestions.CARD_FIELDS
            )
        ],
        "similar": selectors.similar_answered_with_answers(
            user=user, query=query, limit=SIMILAR_ANSWERED, topics=page.topics
        ),
        "departments": selectors.departments_for_escalation(query=query) if can["can_escalate"] else [],
        "close_reasons": CloseReason.choices,
        "lease_minutes": services.claim_lease().seconds // 60,
        "note_unsent": request.session.pop(_note_key(pk), ""),
        **threads.page_context(user=user, query=query, answers=answers, page=page),
    }
    context["replying_to"] = _replying_to(query, context.get("thread_rest") or [])
    context["handoffs"] = list(handoff.handoffs_of(query=query)) if page.has_handoffs else []
    context["handoff_to"] = (
        handoff.handoff_candidates(
            query=query, excluding=[user.pk, query.claimed_by_id if status == "claimed" else None]
        )
        if can["can_hand_off"]
        else []
    )
    return render(request, "engage/query_detail.html", context)


def _note_key(pk: int) -> str:
    return f"engage:unsent-note:{pk}"


@require_POST
def query_note(request: HttpRequest, pk: int) -> HttpResponse:
    """An internal note (with @mentions) on a query the person can see."""
    user = signed_in(request)
    selectors.query_get_for_user(user=user, id=pk)  # 404 first
    body = request.POST.get("body", "")
    try:
        note = threads.note_add(user=user, query_id=pk, body=body)
    except ServiceError as exc:
        flash.error(request, exc.message)
        request.session[_note_key(pk)] = body[: threads.MAX_NOTE_LENGTH]  # kept for another try
        return redirect(_query_url(pk) + "#thread")
    flash.success(request, "Note added." + (" The people you mentioned are told." if note.mentions.exists() else ""))
    return redirect(_query_url(pk) + f"#note-{note.pk}")


def _replying_to(query: Any, thread_rest: list[Any]) -> str:
    """The customer's latest message: quoted above the answer box, so it is in view while writing."""
    for entry in reversed(thread_rest):
        if getattr(entry, "kind", None) == "message":
            return str(entry.item.text)
    return str(query.text)


def _run(request: HttpRequest, action: Any, success: str) -> bool:
    """Call a service; a refusal (bad input, a state that changed meanwhile) is told, not raised."""
    try:
        action()
    except ServiceError as exc:  # Conflict included
        flash.error(request, exc.message)
        return False
    except PermissionDenied as exc:
        flash.error(request, str(exc) or "You may not do that.")
        return False
    if success:
        flash.success(request, success)
    return True


@require_POST
def query_claim(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in(request)
    selectors.query_get_for_user(user=user, id=pk)  # 404 first
    try:
        claim = services.query_claim(user=user, query_id=pk)
    except ServiceError as exc:
        flash.error(request, exc.message)
        return redirect(_back(request, _query_url(pk)))
    until = timezone.localtime(claim.claimed_until).strftime("%H:%M")
    flash.success(request, f"Renewed: it is yours until {until}." if claim.renewed else f"Yours until {until}.")
    return redirect(_query_url(pk) + "#answer")


@require_POST
def query_release(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in(request)
    selectors.query_get_for_user(user=user, id=pk)
    _run(
        request,
        lambda: services.query_release(user=user, query_id=pk),
        "Released: it is back in the queue. Your draft stays here for you.",
    )
    return redirect(_back(request, _query_url(pk)))


def _keep_refused(request: HttpRequest, form: str, values: dict[str, Any]) -> None:
    """What a refused form held comes back in it once, with the error, never cut or lost."""
    request.session[f"engage:refused:{form}"] = values


def _refused(request: HttpRequest, form: str) -> dict[str, Any]:
    kept = request.session.pop(f"engage:refused:{form}", None)
    return kept if isinstance(kept, dict) else {}


def _unsent_key(pk: int) -> str:
    return f"engage:unsent-answer:{pk}"


def _keep_unsent(request: HttpRequest, pk: int, body: str) -> None:
    """Text the server refused to keep (over the limit) comes back in the box once, with the error."""
    request.session[_unsent_key(pk)] = body


def _answer_fields(request: HttpRequest) -> tuple[str, list[int]]:
    body = request.POST.get("body", "")
    return body, _ids(request.POST.getlist("message_ids"), limit=services.MAX_MESSAGES_PER_ANSWER)


@require_POST
def query_draft(request: HttpRequest, pk: int) -> HttpResponse:
    """Keep the unsent answer. Without script, "use this message" comes here too and adds the
    message's text to the draft."""
    from content.selectors import messages_visible_to

    user = signed_in(request)
    selectors.query_get_for_user(user=user, id=pk)
    body, message_ids = _answer_fields(request)
    # "use_message" is "<message id>:<version>" (a bare id: the full message).
    use_id, _, use_version = request.POST.get("use_message", "").partition(":")
    used = _ids([use_id], limit=1)
    if used:
        message = messages_visible_to(user=user).filter(pk=used[0]).first()
        if message is None:
            raise Http404("No such message")
        text = suggestions.version_text(message, use_version or "body")
        if text is None:
            return HttpResponse(
                "use_message: that message has no such version", status=400, content_type="text/plain; charset=utf-8"
            )
        body = f"{body.rstrip()}\n\n{text}".lstrip()
        message_ids = list(dict.fromkeys([*message_ids, message.pk]))
    try:
        draft = services.query_draft_save(user=user, query_id=pk, body=body, message_ids=message_ids)
    except ServiceError as exc:
        if _is_htmx(request):
            return render(request, "engage/_draft_status.html", {"error": exc.message}, status=409)
        flash.error(request, exc.message)
        _keep_unsent(request, pk, body)
        return redirect(_query_url(pk) + "#answer")
    if _is_htmx(request):
        return render(request, "engage/_draft_status.html", {"saved_at": draft.updated_at})
    flash.success(request, "Message added to your draft." if used else "Draft saved.")
    return redirect(_query_url(pk) + "#answer")


@require_POST
def query_answer(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in(request)
    selectors.query_get_for_user(user=user, id=pk)
    body, message_ids = _answer_fields(request)
    try:
        answer = services.answer_submit(user=user, query_id=pk, body=body, message_ids=message_ids)
    except ServiceError as exc:
        flash.error(request, exc.message)
        # Keep what they wrote: the draft is offered back on the page, and when even the
        # draft refuses it (too long), the page shows it once more from the session.
        try:
            services.query_draft_save(user=user, query_id=pk, body=body, message_ids=message_ids)
        except ServiceError:
            _keep_unsent(request, pk, body)
        return redirect(_query_url(pk) + "#answer")
    if answer.status == AnswerStatus.PUBLISHED:
        flash.success(request, "Published: your answer is on its way to the customer.")
    else:
        flash.success(request, "Sent for review: a reviewer will publish it or send it back with a comment.")
    return redirect(_query_url(pk))


@require_POST
def answer_preview(request: HttpRequest) -> HttpResponse:
    """The answer as the customer will see it (sanitised)."""
    body = request.POST.get("body", "")[: services.MAX_ANSWER_LENGTH]
    return render(request, "engage/_preview.html", {"html": render_markdown(body)})


@require_POST
def query_escalate(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in(request)
    selectors.query_get_for_user(user=user, id=pk)
    department = request.POST.get("department", "")
    note = request.POST.get("note", "")
    ok = _run(
        request,
        lambda: services.query_escalate(user=user, query_id=pk, department=department, note=note),
        "Escalated: the department it went to has been told.",
    )
    if not ok:
        _keep_refused(request, f"escalate:{pk}", {"department": department, "note": note})
    if ok and not selectors.queries_visible_to(user).filter(pk=pk).exists():
        return redirect("engage:queue")  # it left what this person can see
    return redirect(_query_url(pk))


@require_POST
def query_close(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in(request)
    selectors.query_get_for_user(user=user, id=pk)
    reason = request.POST.get("reason", "")
    _run(request, lambda: services.query_close(user=user, query_id=pk, reason=reason), "Closed.")
    return redirect(_query_url(pk))


@require_POST
def query_handoff(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in(request)
    selectors.query_get_for_user(user=user, id=pk)
    to = request.POST.get("to", "")
    note = request.POST.get("note", "")
    expected: Any = request.POST.get("claimed_by", handoff.UNSET)  # the holder the page showed ("" for nobody)
    expected = None if expected == "" else expected
    made: list[Any] = []
    _run(
        request,
        lambda: made.append(handoff.query_handoff(user=user, query_id=pk, to=to, note=note, expected=expected)),
        "",
    )
    if made:
        flash.success(request, f"Handed to {made[0].to_user.name}: they hold it now and have been told.")
    return redirect(_query_url(pk))


# --- The customer's rating page (public: the signed link is its authority) ------------------------


@login_not_required
@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def rate(request: HttpRequest, token: str) -> HttpResponse:
    try:
        link = ratings.link_open(token)
    except ratings.LinkExpired:
        return render(request, "engage/rate_closed.html", status=410)
    context: dict[str, Any] = {
        "answer": link.answer,
        "expires_at": link.expires_at,
        "rating": link.rating,
        "scores": ratings.SCORES,
        "thanks": request.GET.get("thanks") == "1" and link.rating is not None,
        "chosen": str(link.rating.score) if link.rating else "",
        "comment": link.rating.comment if link.rating else "",
        "errors": {},
    }
    if request.method == "POST":
        score, comment = request.POST.get("score", ""), request.POST.get("comment", "")
        try:
            ratings.rating_save(token=token, score=score, comment=comment)
        except ratings.LinkExpired:
            return render(request, "engage/rate_closed.html", status=410)
        except ServiceError as exc:
            field = str(exc.extra.get("field") or "score")
            context.update(errors={field: exc.message}, chosen=score, comment=comment[: ratings.MAX_COMMENT_LENGTH])
            return render(request, "engage/rate.html", context, status=400)
        return redirect(f"{reverse('engage:rate', args=[token])}?thanks=1")
    return render(request, "engage/rate.html", context)


# --- Review of answers (a section of the one review queue) -----------------------------------------


@require_POST
def answer_review(request: HttpRequest, pk: int, decision: str) -> HttpResponse:
    user = signed_in(request)
    answer = selectors.answer_get_for_user(user=user, id=pk)  # 404 first
    if decision == "approve":
        _run(request, lambda: services.answer_approve(user=user, answer_id=pk), "Approved and published.")
    elif decision == "reject":
        comment = request.POST.get("comment", "")
        if not comment.strip():
            flash.error(request, "Say what should change: a comment is required to send it back.")
        else:
            _run(
                request,
                lambda: services.answer_reject(user=user, answer_id=pk, comment=comment[:5000]),
                "Sent back to its author with your comment.",
            )
    else:
        raise Http404
    return redirect(_back(request, _query_url(answer.query_id)))


# --- Insights ------------------------------------------------------------------------------------

BOARD_COLUMNS = [
    InsightStatus.SUBMITTED,
    InsightStatus.UNDER_REVIEW,
    InsightStatus.PLANNED,
    InsightStatus.SHIPPED,
    InsightStatus.DECLINED,
]
BOARD_COLUMN_SIZE = 30


@require_GET
def insight_board(request: HttpRequest) -> HttpResponse:
    """Every insight by status; product owners move them along."""
    user = signed_in(request)
    columns = []
    for status in BOARD_COLUMNS:
        insights = selectors.insight_list(status=status)
        items = list(insights[: BOARD_COLUMN_SIZE + 1])
        columns.append(
            {
                "status": status,
                "label": status.label,
                "items": items[:BOARD_COLUMN_SIZE],
                "more": len(items) > BOARD_COLUMN_SIZE,
                "moves": insight_moves_from(status),
            }
        )
    return render(
        request,
        "engage/insights.html",
        {
            "columns": columns,
            "can_move": policy.insight_move(user) is None,
        },
    )


@require_GET
def insight_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in(request)
    insight = selectors.insight_get_for_user(user=user, id=pk)
    query_ids = list(insight.queries.values_list("pk", flat=True))
    visible = list(
        selectors.with_list_relations(selectors.queries_visible_to(user).filter(pk__in=query_ids)).order_by(
            "-received_at"
        )
    )
    return render(
        request,
        "engage/insight_detail.html",
        {
            "insight": insight,
            "history": selectors.insight_history(insight=insight),
            "queries": visible,
            "hidden_queries": len(query_ids) - len(visible),
            "can_move": policy.insight_move(user) is None,
            "moves": insight_moves_from(insight.status),
        },
    )


@require_POST
def insight_create(request: HttpRequest) -> HttpResponse:
    user = signed_in(request)
    query_ids = _ids(request.POST.getlist("query_ids"), limit=100)
    back = _back(request, reverse("engage:insights"))
    title, description = request.POST.get("title", ""), request.POST.get("description", "")
    try:
        insight = services.insight_create(user=user, title=title, description=description, query_ids=query_ids)
    except ServiceError as exc:
        flash.error(request, exc.message)
        if query_ids:  # the form on the query's page: its text comes back there
            values = {"title": title, "description": description, "field": exc.extra.get("field", "")}
            _keep_refused(request, f"insight:{query_ids[0]}", values)
        return redirect(back)
    flash.success(request, "Insight submitted: the product team has been told.")
    return redirect("engage:insight_detail", pk=insight.pk)


@require_POST
def insight_move(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in(request)
    insight = selectors.insight_get_for_user(user=user, id=pk)
    _require_move(user)
    status = request.POST.get("status", "")
    label = dict(InsightStatus.choices).get(status, status)
    if status == insight.status:
        flash.info(request, f"It stays {label.lower()}: choose where to move it.")
        return redirect(_back(request, reverse("engage:insight_detail", args=[insight.pk])))
    _run(
        request,
        lambda: services.insight_set_status(user=user, insight_id=insight.pk, status=status),
        f"Moved to {label.lower()}.",
    )
    return redirect(_back(request, reverse("engage:insight_detail", args=[insight.pk])))


def _require_move(user: User) -> None:
    if policy.insight_move(user) is not None:
        raise PermissionDenied


# --- Administrators: dead letters and channels ---------------------------------------------------


@require_GET
def deliveries(request: HttpRequest) -> HttpResponse:
    user = signed_in(request)
    require_role(user, RoleName.ADMIN)
    status = request.GET.get("status", DeliveryStatus.DEAD)
    if status not in DeliveryStatus.values:
        status = DeliveryStatus.DEAD
    page = Paginator(selectors.delivery_list(status=status), PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "engage/deliveries.html",
        {"page": page, "status": status, "statuses": DeliveryStatus.choices, "extra": f"status={status}&"},
    )


@require_POST
def delivery_retry(request: HttpRequest, pk: int) -> HttpResponse:
    require_role(signed_in(request), RoleName.ADMIN)
    _run(request, lambda: services.delivery_retry(delivery_id=pk), "Sent again.")
    return redirect(_back(request, reverse("engage:deliveries")))


def _connector_forms(*, chosen: str, channel: Channel | None, posted: Any = None) -> list[dict[str, Any]]:
    """Each connector's settings as the channel form shows them: values kept (credentials
    never: a stored one is only said to be set), the chosen connector's section open."""
    forms = []
    stored = set(connectors.credentials_set(channel)) if channel is not None else set()
    for kind, connector in connectors.REGISTRY.items():
        fields = []
        for group, settings_ in (("config", connector.config), ("credentials", connector.credentials)):
            for setting in settings_:
                name = f"{kind}.{group}.{setting.name}"
                if posted is not None and group == "config":
                    value = posted.get(name, "")
                elif channel is not None and channel.connector == kind and group == "config":
                    raw = channel.config.get(setting.name, "")
                    value = ", ".join(raw) if isinstance(raw, list) else str(raw)
                else:
                    value = ""
                fields.append(
                    {
                        "name": name,
                        "id": f"channel-{kind}-{group}-{setting.name}".replace("_", "-"),
                        "field": f"{group}.{setting.name}",
                        "label": setting.label,
                        "help": setting.help,
                        "required": setting.required,
                        "secret": group == "credentials",
                        "is_set": group == "credentials" and channel is not None and channel.connector == kind
                        and setting.name in stored,
                        "choices": setting.choices,
                        "type": setting.type,
                        "value": value,
                    }
                )  # fmt: skip
        forms.append({"kind": kind, "label": ConnectorKind(kind).label, "open": kind == chosen, "fields": fields})
    return forms


def _posted_settings(post: Any, connector: str) -> tuple[dict[str, str], dict[str, str]]:
    """The chosen connector's settings from a channel form: ``(config, credentials)``."""
    config: dict[str, str] = {}
    credentials: dict[str, str] = {}
    prefix = f"{connector}."
    for key, value in post.items():
        if not key.startswith(prefix):
            continue
        group, _, name = key[len(prefix) :].partition(".")
        if group == "config" and value.strip():
            config[name] = value.strip()
        elif group == "credentials" and value:
            credentials[name] = value
    return config, credentials


@never_cache
@require_http_methods(["GET", "POST"])
def channels(request: HttpRequest) -> HttpResponse:
    """Channels, and a new one: its secret is shown on the answer to the POST, once."""
    user = signed_in(request)
    require_role(user, RoleName.ADMIN)
    values = {"slug": "", "name": "", "kind": ChannelKind.FORUM, "outbound_url": "", "connector": ConnectorKind.WEBHOOK}
    error = error_field = ""
    posted = None
    if request.method == "POST":
        values = {key: request.POST.get(key, "").strip() for key in values}
        posted = request.POST
        config, credentials = _posted_settings(request.POST, values["connector"])
        try:
            channel, secret = services.channel_create(
                slug=values["slug"],
                name=values["name"],
                kind=values["kind"],
                outbound_url=values["outbound_url"],
                connector=values["connector"] or ConnectorKind.WEBHOOK,
                config=config,
                credentials=credentials,
            )
        except ServiceError as exc:
            error, error_field = exc.message, str(exc.extra.get("field", ""))
        else:
            return _secret_page(request, channel, secret, made=True)
    return render(
        request,
        "engage/channels.html",
        {
            "channels": selectors.channel_list(),
            "kinds": ChannelKind.choices,
            "connector_kinds": ConnectorKind.choices,
            "connector_forms": _connector_forms(chosen=values["connector"], channel=None, posted=posted),
            "values": values,
            "error": error,
            "error_field": error_field,
            "webhook_base": request.build_absolute_uri("/api/v1/channels/"),
        },
        status=400 if error else 200,
    )


@never_cache
@require_http_methods(["GET", "POST"])
def channel_edit(request: HttpRequest, slug: str) -> HttpResponse:
    """A channel's name, answer address and connector settings; credentials left empty are kept."""
    require_role(signed_in(request), RoleName.ADMIN)
    channel = selectors.channel_get(slug=slug)
    values = {"name": channel.name, "outbound_url": channel.outbound_url, "connector": channel.connector}
    error = error_field = ""
    posted = None
    if request.method == "POST":
        values = {key: request.POST.get(key, "").strip() for key in values}
        posted = request.POST
        config, credentials = _posted_settings(request.POST, values["connector"])
        try:
            services.channel_update(
                channel=channel,
                name=values["name"],
                outbound_url=values["outbound_url"],
                connector=values["connector"] or channel.connector,
                config=config,
                credentials=credentials,
            )
        except ServiceError as exc:
            error, error_field = exc.message, str(exc.extra.get("field", ""))
            channel.refresh_from_db()
        else:
            flash.success(request, f"Saved {channel.name}.")
            return redirect(reverse("engage:channels"))
    return render(
        request,
        "engage/channel_edit.html",
        {
            "channel": channel,
            "connector_kinds": ConnectorKind.choices,
            "connector_forms": _connector_forms(chosen=values["connector"], channel=channel, posted=posted),
            "values": values,
            "error": error,
            "error_field": error_field,
            "inbound_url": request.build_absolute_uri(connectors.inbound_path(channel))
            if connectors.inbound_path(channel)
            else "",
        },
        status=400 if error else 200,
    )


def _secret_page(request: HttpRequest, channel: Any, secret: str, *, made: bool) -> HttpResponse:
    response = render(
        request,
        "engage/channel_secret.html",
        {
            "channel": channel,
            "secret": secret,
            "made": made,
            "webhook_url": request.build_absolute_uri(f"/api/v1/channels/{channel.slug}/webhook/"),
        },
    )
    response["Cache-Control"] = "no-store"  # the secret must not be kept by any cache
    return response


@never_cache
@require_POST
def channel_rotate(request: HttpRequest, slug: str) -> HttpResponse:
    require_role(signed_in(request), RoleName.ADMIN)
    channel, secret = services.channel_rotate_secret(channel=selectors.channel_get(slug=slug))
    return _secret_page(request, channel, secret, made=False)
