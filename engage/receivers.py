"""What engage listens to: the activity of the apps below it, for the participation log.

``training.signals.activity`` and ``content.signals.activity`` are sent after their
transaction commits, each with an ``activity`` (``config.activity.Activity``); every one
is appended to the log, where its ``key`` makes a second delivery count once.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

from config.activity import Activity
from engage import participation

logger = logging.getLogger(__name__)

SOURCES = ("training.signals", "content.signals")


def on_activity(sender: Any, activity: Activity, **kwargs: Any) -> None:
    participation.record(activity)


def connect() -> None:
    from django.apps import apps

    for module_name in SOURCES:
        app_label = module_name.split(".", 1)[0]
        if not apps.is_installed(app_label):
            continue
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            logger.warning("%s is installed but has no signals module yet", app_label)
            continue
        signal = getattr(module, "activity", None)
        if signal is not None:
            signal.connect(on_activity, dispatch_uid=f"engage.participation.{module_name}")
