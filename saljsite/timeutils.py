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
    return timezone.localtime(moment).date()
