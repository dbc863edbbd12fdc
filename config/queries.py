"""Shapes of read that every app's selectors share."""

from __future__ import annotations

from django.db.models import Model, QuerySet
from django.http import Http404


def one_or_404[M: Model](rows: QuerySet[M], *, id: int, lock: bool = False, missing: str) -> M:
    """The row ``id`` among ``rows`` (what the person may see), else ``Http404(missing)``.

    ``lock`` holds that row itself (``SELECT … FOR UPDATE OF`` its own table, not the joined
    ones) until the transaction ends: call it inside one. A ``<thing>_get_for_user``
    selector is its visibility rule passed to this.
    """
    if lock:
        rows = rows.select_for_update(of=("self",))
    row = rows.filter(pk=id).first()
    if row is None:
        raise Http404(missing)
    return row
