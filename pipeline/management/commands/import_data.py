"""`import_data KIND FILE [--commit]`: validate (and with --commit, write) a CSV or XLSX file.

    python manage.py import_data activities calls.csv            # dry run: the report only
    python manage.py import_data activities calls.csv --commit   # write it, all or nothing
    python manage.py import_data targets --template > budget.csv # the kind's template

Without `--user` the import has an administrator's reach; with `--user USERNAME` it has that
user's (a manager imports for the teams they manage). See docs/imports.md for the formats.
"""

from __future__ import annotations

import csv

from django.core.management.base import BaseCommand, CommandError

from pipeline.imports.engine import run_import
from pipeline.imports.formats import template_rows
from pipeline.imports.kinds import KINDS


class Command(BaseCommand):
    help = "Validate and import a CSV or XLSX file of one kind (dry run unless --commit)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("kind", choices=sorted(KINDS))
        parser.add_argument("file", nargs="?")
        parser.add_argument(
            "--commit", action="store_true", help="Write the rows (default: dry run)."
        )
        parser.add_argument("--format", choices=["csv", "xlsx"], default="", dest="fmt")
        parser.add_argument("--delimiter", default="", help="CSV delimiter (default: sniffed).")
        parser.add_argument("--encoding", default="", help="CSV encoding (default: detected).")
        parser.add_argument("--user", default="", help="Import with this user's reach.")
        parser.add_argument("--template", action="store_true", help="Print the kind's template.")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(self, *args, **options) -> None:
        kind = options["kind"]
        if options["template"]:
            header, example = template_rows(KINDS[kind].columns)
            writer = csv.writer(self.stdout, lineterminator="\n")
            writer.writerow(header)
            writer.writerow(example)
            return
        if not options["file"]:
            raise CommandError("Give the FILE to import (or --template).")
        user = None
        if options["user"]:
            from people.models import User

            user = User.objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"No user {options['user']!r}.")
        report = run_import(
            kind=kind,
            path=options["file"],
            user=user,
            commit=options["commit"],
            fmt=options["fmt"],
            encoding=options["encoding"],
            delimiter=options["delimiter"],
            progress=None if options["no_progress"] else _bar(self.stderr._out),
        )
        for error in report.errors:
            column = f" [{error.column}]" if error.column else ""
            where = f"line {error.line}" if error.line else "file"  # Line 0: the whole file.
            self.stderr.write(f"{where}{column}: {error.message}")
        if report.error_count > len(report.errors):
            self.stderr.write(f"… and {report.error_count - len(report.errors)} more errors")
        mode = "committed" if report.committed else "dry run" if report.ok else "rejected"
        self.stdout.write(f"{kind}: {report.rows} rows, {report.summary()} ({mode})")
        if not report.ok:
            raise CommandError(f"{report.error_count} bad row(s): nothing was written.")


def _bar(stream):
    """A tqdm bar over the fraction of the file read, with the rows counted beside it."""
    from tqdm import tqdm

    bar = tqdm(total=100, unit="%", file=stream, bar_format="{l_bar}{bar}| {postfix}")

    def progress(rows: int, fraction: float) -> None:
        bar.n = round(fraction * 100)
        bar.set_postfix_str(f"{rows} rows", refresh=False)
        bar.refresh()
        if fraction >= 1.0:
            bar.close()

    return progress
