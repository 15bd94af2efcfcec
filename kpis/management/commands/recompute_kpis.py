"""python manage.py recompute_kpis [--full] [--since DATE]: the code the Celery tasks run,
synchronously, with progress."""

from __future__ import annotations

import datetime as dt
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from kpis.compute import run
from kpis.services import dirty_cells_mark_since


class Command(BaseCommand):
    help = "Recompute KPI values: the dirty cells (default), all history (--full), or from a date."

    def add_arguments(self, parser):
        parser.add_argument("--full", action="store_true", help="Rebuild from all history.")
        parser.add_argument(
            "--since",
            type=dt.date.fromisoformat,
            help="Recompute every rep's days from this date (YYYY-MM-DD) on.",
        )

    def handle(self, *args, full: bool, since: dt.date | None, **options):
        if full and since:
            raise CommandError("Give --full or --since, not both.")
        started = time.perf_counter()
        if full:
            self.stdout.write("Rebuilding every rollup and period value from all history…")
            result = run.recompute_full()
            self._done(f"Full recompute: {result.periods} periods", started)
            return
        if since:
            with transaction.atomic():
                marked = dirty_cells_mark_since(since=since)
            self.stdout.write(f"Marked {marked} (rep, day) cells since {since} dirty.")
        now = timezone.now()
        cells = run.recompute_cells(now=now)
        self.stdout.write(f"Daily rollups: {cells.cells} cells over {len(cells.days)} days.")
        periods = run.recompute_periods(days=dict(cells.day_sources), now=now)
        self._done(f"Period values: {periods} periods", started)

    def _done(self, what: str, started: float) -> None:
        self.stdout.write(self.style.SUCCESS(f"{what} in {time.perf_counter() - started:.2f} s."))
