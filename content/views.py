"""Web pages of content: browse, search and share (everyone), write and submit (curators),
the review queue (reviewers), usage (curators), and the public side of share links.

Thin: every rule is in ``content.services`` and ``content.selectors``, as for the API.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages as flash
from django.contrib.auth.decorators import login_not_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import RoleName, Topic
from accounts.permissions import require_role, signed_in
from config.errors import Conflict, ServiceError
from config.markdown import render_markdown
from content import policy, review, selectors, services
from content.apis import usage_period
from content.diff import revision_diff
from content.downloads import file_response
from content.forms import ApproveForm, MessageForm, RejectForm, SearchForm, ShareForm, ToolkitForm, ToolkitItemForm
from content.models import Channel, ItemKind, Message, Share, Status

PER_PAGE = 20


def _page(request: HttpRequest, items: Any) -> Any:
    return Paginator(items, PER_PAGE).get_page(request.GET.get("page"))


def _is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _htmx_target(request: HttpRequest) -> str | None:
    details = getattr(request, "htmx", None)
    return details.target if details else None


def client_address(request: HttpRequest) -> str:
    """``REMOTE_ADDR`` only: a forwarded header is whatever the client says it is."""
    return request.META.get("REMOTE_ADDR") or ""


# --- Browsing, searching, sharing ----------------------------------------------------------------


@require_GET
def message_list(request: HttpRequest) -> HttpResponse:
    """Approved messaging meant for the person: by topic, or found by search."""
    user = signed_in(request)
    form = SearchForm(request.GET)
    valid = form.is_valid()
    text = form.cleaned_data.get("q", "").strip() if valid else ""
    topic = form.cleaned_data.get("topic", "") if valid else ""
    if text:
        found: Any = selectors.messages_search(user=user, text=text, limit=50)
        if topic:
            found = [m for m in found if any(t.slug == topic for t in m.topics.all())]
        page = None
    else:
        live = selectors.messages_live_for(user=user)
        if topic:
            live = live.filter(topics__slug=topic)
        page = _page(request, selectors.with_display(live).order_by("-first_published_at", "-id"))
        found = page.object_list
    context = {
        "form": form,
        "q": text,
        "topic": topic,
        "results": found,
        "page": page,
        "topics": Topic.objects.filter(messages__in=selectors.messages_live_for(user=user)).distinct().order_by("name"),
        "channels": Channel.choices,
        "can_manage": selectors.can_manage(user),
        "can_write": user.has_role(RoleName.CURATOR),
        "extra": f"topic={topic}&" if topic else "",
    }
    if _htmx_target(request) == "message-results":
        return render(request, "content/_message_results.html", context)
    return render(request, "content/message_list.html", context)


@require_GET
def message_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in(request)
    now = timezone.now()
    message = selectors.message_get_for_user(user=user, id=pk, now=now)
    message = selectors.with_display(Message.objects.filter(pk=message.pk)).get()
    manager = selectors.can_manage(user)
    # An unapproved revision is for curators and reviewers only.
    pending = message.latest_revision if (manager and message.has_pending_revision) else None
    under_review = message.status == Status.IN_REVIEW or message.pending_status == Status.IN_REVIEW
    in_review_revision = (
        pending
        if (pending and message.pending_status == Status.IN_REVIEW)
        else (message.latest_revision if message.status == Status.IN_REVIEW else None)
    )
    is_author = policy.message_is_own(user, message)
    # The revision under review against what it would replace: the live one, else the one before it.
    compared_with = None
    if in_review_revision is not None:
        compared_with = (
            message.revision
            if message.revision_id and message.revision_id != in_review_revision.pk
            else selectors.message_revision_before(revision=in_review_revision)
        )
    context = {
        "message": message,
        "status": message.status_at(now),
        "live": message.is_live(now),
        "manager": manager,
        "pending": pending,
        "under_review": under_review,
        "in_review_revision": in_review_revision,
        "compared_with": compared_with,
        "changes": revision_diff(compared_with, in_review_revision) if compared_with and in_review_revision else [],
        # What the page offers is what the services accept: content.policy decides.
        "can_review": policy.message_review(user, message, now) is None,
        "is_author": is_author,
        "can_edit": user.has_role(RoleName.CURATOR),
        "can_submit": policy.message_submit(user, message, now) is None,
        "can_withdraw": manager and message.status_at(now) in (Status.PUBLISHED, Status.SCHEDULED),
        "events": list(selectors.message_events(message=message)) if manager else [],
        "revisions": list(selectors.message_revisions(message=message)) if manager else [],
        "last_review": selectors.latest_rejection(message=message) if manager else None,
        "reject_form": RejectForm(initial={"revision": in_review_revision.pk if in_review_revision else None}),
        "approve_form": ApproveForm(initial={"revision": in_review_revision.pk if in_review_revision else None}),
        "channels": Channel.choices,
    }
    return render(request, "content/message_detail.html", context)


@require_POST
def message_share(request: HttpRequest, pk: int) -> HttpResponse:
    """One click: a tracking link for the channel, with the text ready to paste."""
    user = signed_in(request)
    form = ShareForm(request.POST)
    if not form.is_valid():
        return HttpResponse("Choose a channel.", status=400)
    try:
        share = services.share_create(
            user=user,
            message_id=pk,
            channel=form.cleaned_data["channel"],
            request_key=form.cleaned_data["request_key"],
        )
    except Conflict as exc:
        if _is_htmx(request):
            return render(request, "content/_share_result.html", {"error": exc.message}, status=409)
        flash.error(request, exc.message)
        return redirect("content:message_detail", pk=pk)
    url = services.share_url(share)
    context = {
        "share": share,
        "url": url,
        "text": services.share_text(share.message, channel=share.channel, url=url),
        "channel_label": Channel(share.channel).label,
        "mailto": share.channel == Channel.EMAIL,
    }
    if _is_htmx(request):
        return render(request, "content/_share_result.html", context)
    flash.success(request, f"Your {context['channel_label']} link: {url}")
    return redirect("content:message_detail", pk=pk)


# --- Writing and reviewing --------------------------------------------------------------------


@require_GET
def message_manage(request: HttpRequest) -> HttpResponse:
    """Every message, for curators and reviewers, by status."""
    user = signed_in(request)
    require_role(user, RoleName.CURATOR, RoleName.REVIEWER)
    status = request.GET.get("status") or ""
    valid = {*Status.values, "pending", ""}
    if status not in valid:
        status = ""
    messages = selectors.message_list(user=user, status=status or None, mine=request.GET.get("mine") == "1")
    context = {
        "page": _page(request, messages),
        "status": status,
        "now": timezone.now(),
        "statuses": [("", "All"), ("pending", "Waiting for review"), *Status.choices],
        "mine": request.GET.get("mine") == "1",
        "can_write": user.has_role(RoleName.CURATOR),
        "extra": "&".join(
            p for p in (f"status={status}" if status else "", "mine=1" if request.GET.get("mine") == "1" else "") if p
        )
        + "&",
    }
    return render(request, "content/message_manage.html", context)


@never_cache
@require_http_methods(["GET", "POST"])
def message_create(request: HttpRequest) -> HttpResponse:
    user = signed_in(request)
    require_role(user, RoleName.CURATOR)
    form = MessageForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            message = services.message_create(author=user, fields=form.message_fields())
        except ServiceError as exc:
            form.add_service_error(exc)
        else:
            if "submit" in request.POST:
                services.message_submit(user=user, message_id=message.pk)
                flash.success(request, "Saved and sent for review.")
            else:
                flash.success(request, "Draft saved.")
            return redirect("content:message_detail", pk=message.pk)
    return render(request, "content/message_form.html", {"form": form, "message": None})


@never_cache
@require_http_methods(["GET", "POST"])
def message_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in(request)
    message = selectors.message_get_for_user(user=user, id=pk)
    require_role(user, RoleName.CURATOR)
    latest = services.latest_revision_of(message)
    form = MessageForm(request.POST or None, initial=MessageForm.initial_from(latest))
    if request.method == "POST" and form.is_valid():
        try:
            message = services.message_update(user=user, message_id=pk, fields=form.message_fields())
            if "submit" in request.POST and (message.status == Status.DRAFT or message.pending_status == Status.DRAFT):
                services.message_submit(user=user, message_id=pk)
                flash.success(request, "Saved and sent for review.")
            elif message.has_pending_revision:
                flash.success(request, "Saved. The approved version stays live until this one is approved.")
            else:
                flash.success(request, "Saved.")
        except ServiceError as exc:
            form.add_service_error(exc)
        else:
            return redirect("content:message_detail", pk=pk)
    return render(request, "content/message_form.html", {"form": form, "message": message})


@require_POST
def message_preview(request: HttpRequest) -> HttpResponse:
    """The body as readers will see it (sanitised), for the editor's preview pane."""
    require_role(signed_in(request), RoleName.CURATOR)
    return render(
        request, "content/_preview.html", {"html": render_markdown(request.POST.get("body", "")[: services.BODY_MAX])}
    )


@require_POST
def message_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """Submit, approve, reject or withdraw, then back to the message with what happened."""
    user = signed_in(request)
    try:
        if action == "submit":
            services.message_submit(user=user, message_id=pk)
            flash.success(request, "Sent for review.")
        elif action == "approve":
            form = ApproveForm(request.POST)
            revision = form.cleaned_data["revision"] if form.is_valid() else None
            message = services.message_approve(user=user, message_id=pk, revision_id=revision)
            flash.success(request, "Approved: it is live." if message.is_live() else "Approved: it is scheduled.")
        elif action == "reject":
            reject = RejectForm(request.POST)
            if not reject.is_valid():
                flash.error(request, "Say what should change: a comment is required to send it back.")
                return redirect("content:message_detail", pk=pk)
            services.message_reject(
                user=user,
                message_id=pk,
                comment=reject.cleaned_data["comment"],
                revision_id=reject.cleaned_data["revision"],
            )
            flash.success(request, "Sent back to the author with your comment.")
        elif action == "withdraw":
            if request.POST.get("confirm") != "1":
                flash.error(request, "Nothing was withdrawn: tick the box to confirm that it should come down now.")
                return redirect("content:message_detail", pk=pk)
            services.message_withdraw(user=user, message_id=pk, comment=request.POST.get("comment", ""))
            flash.success(request, "Withdrawn: it no longer shows.")
        else:
            raise Http404
    except ServiceError as exc:  # includes Conflict: the state changed under the person
        flash.error(request, exc.message)
    next_url = reverse("content:review_queue") if request.POST.get("next") == "review" else None
    return HttpResponseRedirect(next_url or reverse("content:message_detail", args=[pk]))


@require_GET
def review_queue(request: HttpRequest) -> HttpResponse:
    """One queue for reviewers: a section per kind of work (messages, toolkits, answers...)."""
    user = signed_in(request)
    require_role(user, RoleName.REVIEWER)
    sections = review.sections_for(user)
    return render(
        request,
        "content/review_queue.html",
        {"sections": sections, "waiting": sum(len(items) for _section, items in sections)},
    )


@require_GET
def usage(request: HttpRequest) -> HttpResponse:
    user = signed_in(request)
    require_role(user, RoleName.CURATOR, RoleName.REVIEWER)
    try:
        since, until = usage_period(request.GET.get("from"), request.GET.get("to"))
    except ServiceError as exc:
        flash.error(request, exc.message)
        since, until = usage_period(None, None)
    report = selectors.usage_report(since=since, until=until)
    return render(request, "content/usage.html", {"report": report})


# --- The public side of share links ------------------------------------------------------------


@login_not_required
@never_cache
@require_GET
def share_redirect(request: HttpRequest, code: str) -> HttpResponse:
    """Follow a share link: count the visit (once per visitor and day, bots never), then go."""
    followed = services.share_follow(
        code=code, address=client_address(request), user_agent=request.headers.get("User-Agent", "")
    )
    if followed is None:
        raise Http404("No such link.")
    response = HttpResponseRedirect(followed.target)
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex"
    return response


@login_not_required
@require_GET
def share_landing(request: HttpRequest, code: str) -> HttpResponse:
    """What a visitor sees of a shared message without a link of its own: the approved text."""
    share = Share.objects.select_related("message").filter(code=code).first()
    if share is None or not share.message.is_live():
        return render(request, "content/share_gone.html", status=404)
    response = render(request, "content/share_landing.html", {"message": share.message})
    response["X-Robots-Tag"] = "noindex"
    return response


# --- Toolkits --------------------------------------------------------------------------------


@require_GET
def toolkit_list(request: HttpRequest) -> HttpResponse:
    user = signed_in(request)
    manager = selectors.can_manage(user)
    status = request.GET.get("status") or ""
    if status not in {*Status.values, "pending", ""} or not manager:
        status = ""
    toolkits = selectors.toolkit_list(user=user, status=status or None)
    return render(
        request,
        "content/toolkit_list.html",
        {
            "page": _page(request, toolkits),
            "manager": manager,
            "can_write": user.has_role(RoleName.CURATOR),
            "status": status,
            "statuses": [("", "All"), ("pending", "Waiting for review"), *Status.choices],
            "extra": f"status={status}&" if status else "",
        },
    )


def _item_choices() -> tuple[list[tuple[Any, str]], list[tuple[Any, str]]]:
    from training.models import Course, CourseStatus

    messages = [
        (pk, title)
        for pk, title in Message.objects.filter(status__in=[Status.PUBLISHED, Status.SCHEDULED])
        .order_by("title")
        .values_list("pk", "title")[:500]
    ]
    courses = list(
        Course.objects.filter(status=CourseStatus.PUBLISHED).order_by("title").values_list("pk", "title")[:500]
    )
    return messages, courses


@require_GET
def toolkit_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in(request)
    now = timezone.now()
    toolkit = selectors.toolkit_get_for_user(user=user, id=pk, now=now)
    manager = selectors.can_manage(user)
    messages_choices, course_choices = _item_choices() if manager else ([], [])
    context = {
        "toolkit": toolkit,
        "status": toolkit.status_at(now),
        "items": selectors.toolkit_items(user=user, toolkit=toolkit, now=now),
        "manager": manager,
        "editable": manager and toolkit.status == Status.DRAFT and user.has_role(RoleName.CURATOR),
        # What the page offers is what the services accept: the same policy decides.
        "can_submit": policy.toolkit_submit(user, toolkit, now) is None,
        "can_review": policy.toolkit_review(user, toolkit, now) is None,
        "can_reopen": manager and policy.toolkit_reopen(user, toolkit, now) is None,
        "events": list(selectors.toolkit_events(toolkit=toolkit)) if manager else [],
        "item_form": ToolkitItemForm(message_choices=messages_choices, course_choices=course_choices)
        if manager
        else None,
        "reject_form": RejectForm(),
    }
    return render(request, "content/toolkit_detail.html", context)


@never_cache
@require_http_methods(["GET", "POST"])
def toolkit_form(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    user = signed_in(request)
    toolkit = selectors.toolkit_get_for_user(user=user, id=pk) if pk else None
    require_role(user, RoleName.CURATOR)
    initial = {}
    if toolkit is not None:
        initial = {
            "title": toolkit.title,
            "description": toolkit.description,
            "campaign": toolkit.campaign,
            "audience": [d.slug for d in toolkit.audience.all()],
            "publish_at": toolkit.publish_at,
            "expires_at": toolkit.expires_at,
        }
    form = ToolkitForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            if toolkit is None:
                toolkit = services.toolkit_create(author=user, fields=form.toolkit_fields())  # type: ignore[arg-type]
            else:
                services.toolkit_update(user=user, toolkit_id=toolkit.pk, fields=form.toolkit_fields())  # type: ignore[arg-type]
        except ServiceError as exc:
            form.add_service_error(exc)
        else:
            assert toolkit is not None
            flash.success(request, "Saved. Add its items below." if pk is None else "Saved.")
            return redirect("content:toolkit_detail", pk=toolkit.pk)
    return render(request, "content/toolkit_form.html", {"form": form, "toolkit": toolkit})


@require_POST
def toolkit_item_add(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in(request)
    toolkit = selectors.toolkit_get_for_user(user=user, id=pk)
    messages_choices, course_choices = _item_choices()
    form = ToolkitItemForm(request.POST, request.FILES, message_choices=messages_choices, course_choices=course_choices)
    if not form.is_valid():
        flash.error(request, "; ".join(f"{k}: {' '.join(str(e) for e in v)}" for k, v in form.errors.items()))
        return redirect("content:toolkit_detail", pk=toolkit.pk)
    data = form.cleaned_data
    try:
        services.toolkit_item_add(
            user=user,
            toolkit_id=toolkit.pk,
            kind=data["kind"],
            message_id=data.get("message"),
            course_id=data.get("course"),
            url=data.get("url") or "",
            upload=data.get("file"),
            title=data.get("title") or "",
            note=data.get("note") or "",
        )
    except ServiceError as exc:
        flash.error(request, exc.message)
    else:
        flash.success(request, "Item added.")
    return redirect("content:toolkit_detail", pk=toolkit.pk)


@require_POST
def toolkit_item_change(request: HttpRequest, pk: int, item_id: int, change: str) -> HttpResponse:
    """Remove an item, or move it up or down."""
    user = signed_in(request)
    toolkit = selectors.toolkit_get_for_user(user=user, id=pk)
    try:
        if change == "remove":
            services.toolkit_item_remove(user=user, toolkit_id=toolkit.pk, item_id=item_id)
        elif change in ("up", "down"):
            ids = list(toolkit.items.order_by("position", "id").values_list("id", flat=True))
            if item_id not in ids:
                raise Http404
            at = ids.index(item_id)
            other = at - 1 if change == "up" else at + 1
            if 0 <= other < len(ids):
                ids[at], ids[other] = ids[other], ids[at]
                services.toolkit_items_reorder(user=user, toolkit_id=toolkit.pk, item_ids=ids)
        else:
            raise Http404
    except ServiceError as exc:
        flash.error(request, exc.message)
    return redirect("content:toolkit_detail", pk=toolkit.pk)


@require_POST
def toolkit_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    user = signed_in(request)
    try:
        if action == "submit":
            services.toolkit_submit(user=user, toolkit_id=pk)
            flash.success(request, "Sent for review.")
        elif action == "approve":
            toolkit = services.toolkit_approve(user=user, toolkit_id=pk)
            flash.success(request, "Approved: it is live." if toolkit.is_live() else "Approved: it is scheduled.")
        elif action == "reject":
            form = RejectForm(request.POST)
            comment = request.POST.get("comment", "")
            if not comment.strip():
                flash.error(request, "Say what should change: a comment is required to send it back.")
                return redirect("content:toolkit_detail", pk=pk)
            del form
            services.toolkit_reject(user=user, toolkit_id=pk, comment=comment)
            flash.success(request, "Sent back to the author with your comment.")
        elif action == "reopen":
            services.toolkit_reopen(user=user, toolkit_id=pk)
            flash.success(request, "Back to draft: it is out of sight until approved again.")
        else:
            raise Http404
    except ServiceError as exc:
        flash.error(request, exc.message)
    return redirect("content:toolkit_detail", pk=pk)


@require_GET
def toolkit_item_open(request: HttpRequest, pk: int, item_id: int) -> HttpResponseBase:
    """Use an item: counted, then the file, the link, the message or the course."""
    item = services.toolkit_item_use(user=signed_in(request), toolkit_id=pk, item_id=item_id)
    if item.kind == ItemKind.FILE:
        return file_response(item)
    if item.kind == ItemKind.LINK:
        return HttpResponseRedirect(item.url)
    if item.kind == ItemKind.MESSAGE:
        return redirect("content:message_detail", pk=item.message_id)
    return HttpResponseRedirect(course_url(item.course_id))


def course_url(course_id: int | None) -> str:
    from django.urls import NoReverseMatch

    for name in ("training:course_detail", "training:course"):
        try:
            return reverse(name, args=[course_id])
        except NoReverseMatch:
            continue
    return reverse("content:toolkit_list")
