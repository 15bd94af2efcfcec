"""`manage.py seed_demo`: load the demo sales organisation into an empty database."""

from __future__ import annotations

import argparse
import datetime as dt
import time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from pipeline.demo import DemoDataPresent, NonDemoDataPresent, demo_logins_table, seed_demo


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from None


def _scale(value: str) -> float:
    try:
        scale = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if not 0 < scale <= 50:
        raise argparse.ArgumentTypeError("the scale must be above 0 and at most 50")
    return scale


class Command(BaseCommand):
    help = (
        "Load a deterministic demo sales organisation (teams, reps, companies, leads, deals, a "
        "year of activities). Refuses a database holding other data; a no-op when demo data is "
        "already loaded."
    )

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
        parser.add_argument(
            "--scale", type=_scale, default=1.0, help="size: 1 = 3 teams, 24 reps (default 1)"
        )
        parser.add_argument(
            "--today",
            type=_date,
            default=None,
            help="last day of the history, YYYY-MM-DD (default: today in the site time zone)",
        )

    def handle(self, *args, seed: int, scale: float, today: dt.date | None, **options):
        today = today or timezone.localdate()
        started = time.monotonic()
        try:
            summary = seed_demo(seed=seed, scale=scale, today=today)
        except DemoDataPresent:
            self.stdout.write("Demo data already loaded.")
            return
        except NonDemoDataPresent as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data loaded (seed {seed}, scale {scale:g}, up to {today:%Y-%m-%d}) "
                f"in {time.monotonic() - started:.1f} s:"
            )
        )
        for line in summary.lines():
            self.stdout.write(line)
        self.stdout.write(demo_logins_table())
