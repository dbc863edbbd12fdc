"""The dependency direction of ARCHITECTURE.md, checked on every import in the code.

accounts ← training ← content ← engage: an app imports only apps to its left. ``config``
is the platform every app may use; it imports no app, except where named below.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.platform.procs import BASE_DIR

ORDER = ["accounts", "training", "content", "engage"]
# config's few reasons to know an app: the home page draws accounts' registry of cards,
# and seed_demo prints the demo accounts.
CONFIG_MAY_IMPORT = {
    ("config/views.py", "accounts"),
    ("config/management/commands/seed_demo.py", "accounts"),
}


def imported_packages(path: Path) -> set[str]:
    """Top-level packages a module imports, anywhere in it (function bodies included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def modules_of(package: str) -> list[Path]:
    return sorted((BASE_DIR / package).rglob("*.py"))


@pytest.mark.parametrize("app", ORDER)
def test_an_app_imports_only_the_apps_below_it(app: str) -> None:
    above = set(ORDER[ORDER.index(app) + 1 :])
    wrong = {
        f"{path.relative_to(BASE_DIR)} imports {', '.join(sorted(imported_packages(path) & above))}"
        for path in modules_of(app)
        if imported_packages(path) & above
    }
    assert not wrong, sorted(wrong)


def test_the_platform_imports_no_app_but_where_it_says_so() -> None:
    wrong = set()
    for path in modules_of("config"):
        relative = path.relative_to(BASE_DIR).as_posix()
        for package in imported_packages(path) & set(ORDER):
            if (relative, package) not in CONFIG_MAY_IMPORT:
                wrong.add(f"{relative} imports {package}")
    assert not wrong, sorted(wrong)


def test_the_check_sees_imports_inside_functions(tmp_path: Path) -> None:
    module = tmp_path / "module.py"
    module.write_text("import os\n\ndef later():\n    from engage.models import Query\n")
    assert imported_packages(module) == {"os", "engage"}


# Modules that must stay pure (no Django, no app's models): the checks they hold can then be
# read and tested without a database.
PURE_MODULES = ["content/services/uploads.py"]


@pytest.mark.parametrize("module", PURE_MODULES)
def test_pure_modules_import_neither_django_nor_an_app(module: str) -> None:
    assert not imported_packages(BASE_DIR / module) & {"django", "rest_framework", *ORDER}


def test_no_function_is_excused_from_the_complexity_limit() -> None:
    """ruff's C90 (15, pyproject.toml) holds everywhere: a function past it is split, not excused."""
    excused = sorted(
        str(path.relative_to(BASE_DIR))
        for package in [*ORDER, "config", "scripts", "bench"]
        for path in modules_of(package)
        if "noqa: C901" in path.read_text()
    )
    assert not excused, excused
