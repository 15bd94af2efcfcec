"""Shared fixtures and helpers of the import tests (test_imports_*.py)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from people.tests.factories import ManagerFactory, TeamFactory, UserFactory
from pipeline.imports.engine import run_import
from pipeline.models import Company, Contact


def write_csv(
    path: Path, rows: list[list[str]], *, delimiter: str = ",", encoding: str = "utf-8"
) -> Path:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def write_xlsx(path: Path, rows: list[list[object]]) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def errors_of(report) -> list[tuple[int, str]]:
    """(line, column) of every error, in report order."""
    return [(e.line, e.column) for e in report.errors]


def do_import(kind: str, path: Path, user=None, commit: bool = True, **options):
    return run_import(kind=kind, path=path, user=user, commit=commit, **options)


@pytest.fixture
def world(db):
    """Two teams: the manager's (sam.sdr, alex.ae, anna.am) and another (olle.other)."""
    team = TeamFactory(name="Nord")
    other_team = TeamFactory(name="Syd")
    manager = ManagerFactory(username="maja.manager", team=team)
    sdr = UserFactory(username="sam.sdr", role="sdr", team=team, email="sam@example.se")
    ae = UserFactory(username="alex.ae", role="ae", team=team)
    am = UserFactory(username="anna.am", role="am", team=team)
    other = UserFactory(username="olle.other", role="ae", team=other_team)
    company = Company.objects.create(name="Exempel AB", external_id="CRM-1001", owner=am)
    other_company = Company.objects.create(name="Annat AB", external_id="CRM-2002")
    contact = Contact.objects.create(company=company, name="Eva", external_id="CRM-C-1")
    return {
        "team": team,
        "other_team": other_team,
        "manager": manager,
        "sdr": sdr,
        "ae": ae,
        "am": am,
        "other": other,
        "company": company,
        "other_company": other_company,
        "contact": contact,
    }
