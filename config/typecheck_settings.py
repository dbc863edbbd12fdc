"""Settings for the type checker: django-stubs loads Django to learn the models.

These are the real settings, loaded as the test suite loads them, so that a type check
needs no ``SECRET_KEY`` or ``DEBUG`` in its environment.
"""

import os

os.environ.setdefault("ENGAGE_TESTING", "1")

from config.settings import *  # noqa: F403
