"""Every signal a higher app must hear reaches its receiver.

The receivers are connected by direct imports in each app's ``wiring.py``, called from
``AppConfig.ready()``; this test fails if one is missing (a receiver not connected, a signal
renamed and connected to nothing), and if wiring is done anywhere but there.
"""

from __future__ import annotations

import ast
import inspect
from typing import Any

import pytest
from django.apps import apps
from django.dispatch import Signal
from django.utils import timezone

from accounts.models import User
from accounts.signals import collect_personal_data
from config.activity import Activity, ActivityKind
from content.models import Message
from content.signals import activity as content_activity
from engage import receivers
from engage.models import ParticipationEvent
from tests.platform.procs import BASE_DIR
from training.models import Course
from training.signals import activity as training_activity

pytestmark = pytest.mark.django_db


def _receivers(signal: Signal, **kwargs: Any) -> list[Any]:
    return [receiver for receiver, _response in signal.send(**kwargs)]


@pytest.mark.parametrize(
    ("signal", "sender", "kind", "object_type"),
    [
        (training_activity, Course, ActivityKind.COURSE_COMPLETED, "training.course"),
        (content_activity, Message, ActivityKind.MESSAGE_PUBLISHED, "content.message"),
    ],
)
def test_the_activity_of_each_lower_app_reaches_the_participation_log(
    signal: Signal, sender: type, kind: str, object_type: str
) -> None:
    fact = Activity(kind=kind, occurred_at=timezone.now(), object_type=object_type, object_id=7, key=f"wiring:{kind}")
    assert receivers.on_activity in _receivers(signal, sender=sender, activity=fact)
    assert ParticipationEvent.objects.filter(key=fact.key, kind=kind).count() == 1


def test_a_personal_data_export_asks_every_app_for_its_part() -> None:
    from content import receivers as content_receivers
    from training import receivers as training_receivers

    user = User.objects.create_user(email="wiring@example.com", name="Wiring")
    asked = _receivers(collect_personal_data, sender=User, user=user)
    for part in (
        training_receivers.collect_personal_data,
        content_receivers.collect_personal_data,
        receivers.export_personal_data,
        receivers.export_leaderboard_choice,
    ):
        assert part in asked, part


# --- One wiring module per app ---------------------------------------------------------------

APPS = ["accounts", "training", "content", "engage"]
# What wiring is: the registries other apps (and the layout) read, and signal receivers.
REGISTERING = {"register_kind", "register_nav_item", "register_home_card", "register_section", "connect"}


def _calls(tree: ast.AST) -> set[str]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if name in REGISTERING:
                found.add(name)
        if isinstance(node, ast.FunctionDef) and any(
            isinstance(d, ast.Call) and getattr(d.func, "id", "") == "receiver" for d in node.decorator_list
        ):
            found.add("@receiver")
    return found


@pytest.mark.parametrize("app", APPS)
def test_an_app_is_wired_in_its_wiring_module_only(app: str) -> None:
    """Notification kinds, navigation, home cards, review sections and receivers are all
    registered in ``<app>/wiring.py``: nowhere else in the app's code (a views module, the
    AppConfig, a registry's own module, a decorator at import time)."""
    elsewhere = sorted(
        f"{path.relative_to(BASE_DIR)}: {', '.join(sorted(calls))}"
        for path in (BASE_DIR / app).rglob("*.py")
        if "migrations" not in path.parts and path.name != "wiring.py"
        for calls in [_calls(ast.parse(path.read_text()))]
        if calls
    )
    assert not elsewhere, elsewhere


@pytest.mark.parametrize("app", APPS)
def test_ready_calls_the_wiring_module_and_nothing_else(app: str) -> None:
    config = apps.get_app_config(app)
    ready = next(
        node
        for node in ast.walk(ast.parse(inspect.getsource(type(config))))
        if isinstance(node, ast.FunctionDef) and node.name == "ready"
    )
    statements = [ast.unparse(statement) for statement in ready.body]
    assert statements == [f"from {app} import wiring", "wiring.wire()"]


@pytest.mark.parametrize("app", APPS)
def test_a_wiring_module_imports_what_it_wires_directly(app: str) -> None:
    """At the top, by name: a renamed signal or registry stops the start-up. No import inside a
    function, no ``getattr`` on a module, no ``ImportError`` quietly passed over."""
    tree = ast.parse((BASE_DIR / app / "wiring.py").read_text())
    late = [
        ast.unparse(node)
        for function in ast.walk(tree)
        if isinstance(function, ast.FunctionDef)
        for node in ast.walk(function)
        if isinstance(node, ast.Import | ast.ImportFrom)
    ]
    assert not late, late
    assert not [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "getattr"]
    assert not [n for n in ast.walk(tree) if isinstance(n, ast.ExceptHandler)]


def test_every_registration_is_in_place_after_start_up() -> None:
    """What the wiring modules registered, as the layout, the profile and the review page read it."""
    from accounts import navigation, notifications
    from content import review

    nav = {item.key for item in navigation._NAV_ITEMS.values()}
    cards = {card.key for card in navigation._HOME_CARDS.values()}
    kinds = {kind.key for kind in notifications.kinds()}
    assert {"home", "profile", "admin", "training", "messages", "review", "queue", "dashboard"} <= nav
    assert {"notifications", "administration", "training", "messaging", "queue", "phase"} <= cards
    assert {"account", "training.course_assigned", "content_review_requested", "engage.query_routed"} <= kinds
    assert [section.key for section in review.sections()][:3] == ["answers", "messages", "toolkits"]
