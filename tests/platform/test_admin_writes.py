"""The admin writes nothing a service owns: every page is read-only or saves through a service.

``config.admin`` holds the two bases (ARCHITECTURE.md, "Where each kind of code lives");
no app defines a read-only base of its own again.
"""

from __future__ import annotations

import ast

from django.contrib import admin

from config.admin import ReadOnlyAdmin, ServiceAdmin
from tests.platform.procs import BASE_DIR

APPS = ["accounts", "training", "content", "engage", "config"]
# django-otp's own pages (a person's authenticator devices), where an administrator removes a
# lost one; no Engage service writes those rows.
THIRD_PARTY = {"otp_totp", "otp_static"}


def test_every_admin_page_is_read_only_or_saves_through_a_service() -> None:
    wrong = sorted(
        f"{model._meta.label}: {type(model_admin).__name__}"
        for model, model_admin in admin.site._registry.items()
        if model._meta.app_label not in THIRD_PARTY and not isinstance(model_admin, ReadOnlyAdmin | ServiceAdmin)
    )
    assert not wrong, wrong


def test_read_only_pages_refuse_every_write() -> None:
    class Request:  # what the permission checks read
        user = None

    for model, model_admin in admin.site._registry.items():
        if isinstance(model_admin, ReadOnlyAdmin):
            assert not model_admin.has_add_permission(Request()), model._meta.label  # type: ignore[arg-type]
            assert not model_admin.has_change_permission(Request()), model._meta.label  # type: ignore[arg-type]
            for inline in model_admin.inlines:
                assert not inline(model, admin.site).has_change_permission(Request()), (model._meta.label, inline)  # type: ignore[arg-type]


def test_the_read_only_base_is_defined_once() -> None:
    bases = sorted(
        f"{path.relative_to(BASE_DIR)}: {node.name}"
        for app in APPS
        for path in (BASE_DIR / app).rglob("admin.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ClassDef) and node.name.startswith("ReadOnly")
    )
    assert bases == [
        "config/admin.py: ReadOnlyAdmin",
        "config/admin.py: ReadOnlyInline",
        "config/admin.py: ReadOnlyStackedInline",
    ]
