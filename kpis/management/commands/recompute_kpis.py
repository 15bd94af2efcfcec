"""python manage.py recompute_kpis [--full]: the same code the Celery tasks run, synchronously."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand

from kpis.compute import run


class Command(BaseCommand):
    help = "Recompute KPI values: the dirty cells (default) or all history (--full)."

    def add_arguments(self, parser):
        parser.add_argument("--full", action="store_true", help="Rebuild from all history.")

    def handle(self, *args, full: bool, **options):
        started = time.perf_counter()
        result = run.recompute_full() if full else run.recompute()
        kind = "Full recompute" if full else "Recompute"
        self.stdout.write(
            self.style.SUCCESS(
                f"{kind} done: {result.cells} dirty cells in {time.perf_counter() - started:.2f} s."
            )
        )
