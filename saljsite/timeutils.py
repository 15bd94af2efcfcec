"""Site-time helpers: every stored "local day" is computed here, in the site time zone."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone


def local_day(moment: dt.datetime | None) -> dt.date | None:
    """The calendar day of `moment` in the site time zone (`TIME_ZONE`), or None."""
    if moment is None:
        return None
    if timezone.is_naive(moment):
        raise ValueError("Aware datetimes only: a naive one has no local day.")
    # The site zone, not the active one: stored days must not depend on who made the request.
    return timezone.localtime(moment, timezone.get_default_timezone()).date()
