"""Importing companies, contacts, leads, opportunities, stage history, rep costs and targets:
for each kind a clean file, every kind of bad row, re-import idempotence and a changed row."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from kpis.models import DirtyCell, Target, TargetChange
from pipeline.imports.formats import template_rows
from pipeline.imports.kinds import KINDS
from pipeline.models import Company, Contact, Lead, Opportunity, RepCost, StageChange
from pipeline.tests.imports_helpers import (
    do_import,
    errors_of,
    write_csv,
    write_xlsx,
)

STHLM = ZoneInfo("Europe/Stockholm")


def counts(report) -> tuple[int, int, int]:
    return (report.created, report.updated, report.unchanged)


# ---------------------------------------------------------------------------
# Companies
# ---------------------------------------------------------------------------
COMPANIES = [
    ["external_id", "name", "org_number", "owner"],
    ["CRM-1", "Alfa AB", "5560360793", "anna.am"],
    ["CRM-2", "Beta AB", "", ""],
]


def test_companies_clean_reimport_and_change(world, tmp_path):
    path = write_csv(tmp_path / "c.csv", COMPANIES)
    report = do_import("companies", path, user=world["manager"])
    assert report.errors == [] and counts(report) == (2, 0, 0)
    alfa = Company.objects.get(external_id="CRM-1")
    assert (alfa.name, alfa.org_number, alfa.owner) == ("Alfa AB", "556036-0793", world["am"])
    assert counts(do_import("companies", path, user=world["manager"])) == (0, 0, 2)
    changed = [row[:] for row in COMPANIES]
    changed[2][1] = "Beta Sverige AB"
    report = do_import("companies", write_csv(tmp_path / "d.csv", changed))
    assert counts(report) == (0, 1, 1)
    assert Company.objects.get(external_id="CRM-2").name == "Beta Sverige AB"


def test_companies_bad_rows(world, tmp_path):
    rows = [
        COMPANIES[0],
        ["CRM-1", "", "", ""],  # name missing
        ["CRM-2", "Gamma AB", "123", ""],  # bad organisation number
        ["CRM-3", "Delta AB", "", "olle.other"],  # another team's rep
        ["CRM-4", "Epsilon AB", "", "ghost"],  # unknown user
        ["CRM-5", "Zeta AB", "", ""],
        ["CRM-5", "Zeta igen AB", "", ""],  # repeated external id
    ]
    report = do_import("companies", write_csv(tmp_path / "b.csv", rows), user=world["manager"])
    assert errors_of(report) == [
        (2, "name"),
        (3, "org_number"),
        (4, "owner"),
        (5, "owner"),
        (7, "external_id"),
    ]
    assert report.errors[4].message == "The same row appears earlier in the file (line 6)."
    assert not Company.objects.filter(external_id__in=["CRM-2", "CRM-5"]).exists()


def test_an_unknown_or_missing_column_rejects_the_file(world, tmp_path):
    rows = [["external_id", "namn"], ["CRM-1", "Alfa AB"]]
    report = do_import("companies", write_csv(tmp_path / "h.csv", rows))
    assert errors_of(report) == [(1, "namn"), (1, "name")]
    assert [e.message for e in report.errors] == [
        "Unknown column (see the template for this kind).",
        "A required column is missing.",
    ]


# ---------------------------------------------------------------------------
# Contacts
# ---------------------------------------------------------------------------
CONTACTS = [
    ["external_id", "company", "name", "title", "email", "phone", "is_decision_maker"],
    ["K-1", "CRM-1001", "Åsa Öberg", "VD", "asa@exempel.se", "", "ja"],
    ["K-2", "CRM-1001", "Per Ek", "", "", "", "0"],
]


def test_contacts_clean_windows_1252_semicolons_reimport_and_change(world, tmp_path):
    path = write_csv(tmp_path / "k.csv", CONTACTS, delimiter=";", encoding="cp1252")
    report = do_import("contacts", path, user=world["manager"])
    assert report.errors == [] and counts(report) == (2, 0, 0)
    asa = Contact.objects.get(external_id="K-1")
    assert (asa.name, asa.company, asa.is_decision_maker) == ("Åsa Öberg", world["company"], True)
    assert counts(do_import("contacts", path, user=world["manager"])) == (0, 0, 2)
    changed = [row[:] for row in CONTACTS]
    changed[1][6] = "nej"
    assert counts(do_import("contacts", write_csv(tmp_path / "k2.csv", changed))) == (0, 1, 1)
    assert Contact.objects.get(external_id="K-1").is_decision_maker is False


def test_contacts_bad_rows(world, tmp_path):
    world["other_company"].owner = world["other"]
    world["other_company"].save()
    rows = [
        CONTACTS[0],
        ["K-1", "NOPE", "A", "", "", "", ""],  # unknown company
        ["K-2", "CRM-1001", "B", "", "not-an-email", "", ""],  # invalid email
        ["K-3", "CRM-1001", "C", "", "", "", "kanske"],  # bad boolean
        ["K-4", "CRM-2002", "D", "", "", "", ""],  # another team's company
    ]
    report = do_import("contacts", write_csv(tmp_path / "b.csv", rows), user=world["manager"])
    assert errors_of(report) == [
        (2, "company"),
        (3, "email"),
        (4, "is_decision_maker"),
        (5, "company"),
    ]
    assert not Contact.objects.filter(external_id__startswith="K-").exists()


# ---------------------------------------------------------------------------
# Leads
# ---------------------------------------------------------------------------
LEADS = [
    [
        "external_id",
        "name",
        "source",
        "direction",
        "received_at",
        "assigned_to",
        "company",
        "contact",
        "status",
        "notes",
    ],
    [
        "L-1",
        "Webbförfrågan",
        "website",
        "inbound",
        "2026-03-02 09:15",
        "sam.sdr",
        "",
        "CRM-C-1",
        "contacted",
        "",
    ],
    ["L-2", "Mässa", "EVENT", "inbound", "2026-03-03", "", "", "", "", "Stockholm"],
]


def test_leads_clean_xlsx_reimport_and_reassign(world, tmp_path):
    DirtyCell.objects.all().delete()
    path = write_xlsx(tmp_path / "l.xlsx", LEADS)
    report = do_import("leads", path, user=world["manager"])
    assert report.errors == [] and counts(report) == (2, 0, 0)
    lead = Lead.objects.get(external_id="L-1")
    assert lead.received_at == dt.datetime(2026, 3, 2, 9, 15, tzinfo=STHLM)
    assert (lead.status, lead.company, lead.assigned_to) == (
        "contacted",
        world["company"],
        world["sdr"],
    )
    assert set(DirtyCell.objects.values_list("rep__username", "day")) == {
        ("sam.sdr", dt.date(2026, 3, 2))
    }
    assert counts(do_import("leads", path, user=world["manager"])) == (0, 0, 2)
    changed = [row[:] for row in LEADS]
    changed[2][5] = "alex.ae"
    report = do_import("leads", write_xlsx(tmp_path / "l2.xlsx", changed), user=world["manager"])
    assert counts(report) == (0, 1, 1)
    assert Lead.objects.get(external_id="L-2").assigned_to == world["ae"]
    assert ("alex.ae", dt.date(2026, 3, 3)) in set(
        DirtyCell.objects.values_list("rep__username", "day")
    )


def test_leads_bad_rows(world, tmp_path):
    do_import("leads", write_csv(tmp_path / "l.csv", LEADS))
    rows = [
        LEADS[0],
        [
            "L-1",
            "Webbförfrågan",
            "website",
            "inbound",
            "2026-03-09 09:15",
            "sam.sdr",
            "",
            "CRM-C-1",
            "contacted",
            "",
        ],  # received_at cannot change
        ["L-3", "X", "tidning", "", "", "", "", "", "", ""],  # unknown source
        ["L-4", "Y", "", "", "igår", "", "", "", "", ""],  # bad datetime
        ["L-5", "Z", "", "", "", "olle.other", "", "", "", ""],  # another team's rep
    ]
    report = do_import("leads", write_csv(tmp_path / "b.csv", rows), user=world["manager"])
    assert errors_of(report) == [
        (2, "received_at"),
        (3, "source"),
        (4, "received_at"),
        (5, "assigned_to"),
    ]
    assert Lead.objects.count() == 2


# ---------------------------------------------------------------------------
# Opportunities and stage history
# ---------------------------------------------------------------------------
OPPORTUNITIES = [
    [
        "external_id",
        "name",
        "company",
        "owner",
        "created_by",
        "kind",
        "lead_source",
        "channel",
        "amount",
        "stage",
        "lead",
        "contact",
        "created_at",
    ],
    [
        "O-1",
        "Licenser",
        "CRM-1001",
        "alex.ae",
        "sam.sdr",
        "new_business",
        "website",
        "field",
        "125 000,50",
        "meeting",
        "",
        "CRM-C-1",
        "2026-02-02 10:00",
    ],
    [
        "O-2",
        "Tillägg",
        "CRM-1001",
        "alex.ae",
        "",
        "upsell",
        "",
        "",
        "",
        "",
        "",
        "",
        "2026-02-03 10:00",
    ],
]
HISTORY = [
    ["opportunity", "stage", "changed_at", "changed_by", "amount", "lost_reason"],
    ["O-1", "proposal", "2026-02-10 09:00", "", "", ""],
    ["O-1", "won", "2026-03-01 15:00", "alex.ae", "130000", ""],
    ["O-2", "lost", "2026-02-20 11:00", "", "", "Budget"],
]


def test_opportunities_and_stage_history_clean_and_idempotent(world, tmp_path):
    opps = write_csv(tmp_path / "o.csv", OPPORTUNITIES)
    report = do_import("opportunities", opps, user=world["manager"])
    assert report.errors == [] and counts(report) == (2, 0, 0)
    licence = Opportunity.objects.get(external_id="O-1")
    assert licence.amount == Decimal("125000.50")
    assert (licence.stage.slug, licence.created_by, licence.owner) == (
        "meeting",
        world["sdr"],
        world["ae"],
    )
    assert Opportunity.objects.get(external_id="O-2").stage.slug == "qualification"
    history = write_csv(tmp_path / "h.csv", HISTORY)
    report = do_import("stage-history", history, user=world["manager"])
    assert report.errors == [] and counts(report) == (3, 0, 0)
    licence.refresh_from_db()
    assert (licence.stage.slug, licence.amount) == ("won", Decimal("130000"))
    assert licence.closed_at == dt.datetime(2026, 3, 1, 15, tzinfo=STHLM)
    assert list(
        StageChange.objects.filter(opportunity=licence).values_list("to_stage__slug", flat=True)
    ) == ["meeting", "proposal", "won"]
    assert counts(do_import("stage-history", history, user=world["manager"])) == (0, 0, 3)
    # Re-importing the deals: the amount changed by the won move is in the file as 125 000,50.
    report = do_import("opportunities", opps, user=world["manager"])
    assert counts(report) == (0, 1, 1)


def test_opportunities_bad_rows(world, tmp_path):
    rows = [
        OPPORTUNITIES[0],
        ["O-1", "A", "CRM-1001", "olle.other", "", "", "", "", "", "", "", "", ""],
        ["O-2", "B", "CRM-1001", "alex.ae", "", "", "", "", "-5", "", "", "", ""],
        ["O-3", "C", "CRM-1001", "alex.ae", "", "", "", "", "", "won", "", "", ""],
        ["O-4", "D", "CRM-1001", "alex.ae", "", "", "", "", "", "nowhere", "", "", ""],
        ["O-5", "E", "CRM-1001", "alex.ae", "", "", "", "", "", "", "", "CRM-C-1", ""],
        ["O-6", "F", "CRM-2002", "alex.ae", "", "", "", "", "", "", "", "CRM-C-1", ""],
        ["O-7", "G", "CRM-1001", "alex.ae", "", "", "", "", "12,5,0", "", "", "", ""],
    ]
    report = do_import("opportunities", write_csv(tmp_path / "b.csv", rows), user=world["manager"])
    assert errors_of(report) == [
        (2, "owner"),
        (3, "amount"),
        (4, "stage"),
        (5, "stage"),
        (7, "contact"),
        (8, "amount"),
    ]
    assert report.errors[3].message == "Unknown stage slug “nowhere”."
    assert not Opportunity.objects.exists()


def test_stage_history_bad_rows(world, tmp_path):
    do_import("opportunities", write_csv(tmp_path / "o.csv", OPPORTUNITIES))
    rows = [
        HISTORY[0],
        ["O-1", "won", "2026-02-10 09:00", "", "0", ""],  # won without an amount
        ["O-2", "lost", "2026-02-20 11:00", "", "", ""],  # lost without a reason
        ["O-2", "proposal", "2026-01-01 11:00", "", "", ""],  # before the previous move
        ["O-9", "won", "2026-02-20 11:00", "", "", ""],  # unknown opportunity
    ]
    report = do_import("stage-history", write_csv(tmp_path / "h.csv", rows))
    assert errors_of(report) == [
        (2, "amount"),
        (3, "lost_reason"),
        (4, "changed_at"),
        (5, "opportunity"),
    ]
    assert StageChange.objects.count() == 2


# ---------------------------------------------------------------------------
# Rep costs and targets
# ---------------------------------------------------------------------------
COSTS = [
    ["rep", "month", "kind", "amount"],
    ["alex.ae", "2026-03", "salary", "52 000,00"],
    ["alex.ae", "2026-03-01", "bonus", "5\u00a0000,50"],
]


def test_rep_costs_clean_reimport_change_and_dirty_cells(world, tmp_path):
    DirtyCell.objects.all().delete()
    path = write_csv(tmp_path / "r.csv", COSTS, delimiter=";", encoding="cp1252")
    report = do_import("rep-costs", path, user=world["manager"])
    assert report.errors == [] and counts(report) == (2, 0, 0)
    assert dict(RepCost.objects.values_list("kind", "amount")) == {
        "salary": Decimal("52000.00"),
        "bonus": Decimal("5000.50"),
    }
    assert set(DirtyCell.objects.values_list("rep__username", "day")) == {
        ("alex.ae", dt.date(2026, 3, 1))
    }
    assert counts(do_import("rep-costs", path, user=world["manager"])) == (0, 0, 2)
    changed = [row[:] for row in COSTS]
    changed[1][3] = "53000"
    assert counts(do_import("rep-costs", write_csv(tmp_path / "r2.csv", changed))) == (0, 1, 1)


def test_rep_costs_bad_rows(world, tmp_path):
    rows = [
        COSTS[0],
        ["olle.other", "2026-03", "", "1"],
        ["alex.ae", "2026-03-15", "", "1"],
        ["alex.ae", "2026-04", "car", "1"],
        ["alex.ae", "2026-05", "", "-1"],
        ["alex.ae", "2026-06", "", ""],
        ["alex.ae", "2026-07", "", "1"],
        ["alex.ae", "2026-07", "salary", "2"],
    ]
    report = do_import("rep-costs", write_csv(tmp_path / "b.csv", rows), user=world["manager"])
    assert errors_of(report) == [
        (2, "rep"),
        (3, "month"),
        (4, "kind"),
        (5, "amount"),
        (6, "amount"),
        (8, "rep"),
    ]
    assert not RepCost.objects.exists()


TARGETS = [
    ["kpi", "scope", "rep", "team", "role", "period", "value", "valid_from", "valid_to"],
    ["meetings_booked", "", "sam.sdr", "", "", "month", "12", "2026-01-01", ""],
    ["calls_made", "team", "", "Nord", "", "week", "250,5", "2026-01-05", "2026-12-27"],
]


def test_targets_clean_reimport_and_change(world, tmp_path):
    path = write_csv(tmp_path / "t.csv", TARGETS)
    report = do_import("targets", path, user=world["manager"])
    assert report.errors == [] and counts(report) == (2, 0, 0)
    team_target = Target.objects.get(kpi="calls_made")
    assert (team_target.scope, team_target.team, team_target.value) == (
        "team",
        world["team"],
        Decimal("250.5"),
    )
    assert TargetChange.objects.filter(changed_by=world["manager"]).count() == 2
    assert counts(do_import("targets", path, user=world["manager"])) == (0, 0, 2)
    changed = [row[:] for row in TARGETS]
    changed[1][6] = "14"
    report = do_import("targets", write_csv(tmp_path / "t2.csv", changed), user=world["manager"])
    assert counts(report) == (0, 1, 1)
    assert Target.objects.get(kpi="meetings_booked").value == Decimal("14")


def test_targets_bad_rows(world, tmp_path):
    rows = [
        TARGETS[0],
        ["no_such_kpi", "", "sam.sdr", "", "", "month", "1", "2026-01-01", ""],
        ["calls_made", "team", "", "Syd", "", "month", "1", "2026-01-01", ""],
        ["calls_made", "all", "", "", "", "month", "1", "2026-01-01", ""],
        ["calls_made", "", "sam.sdr", "", "", "fortnight", "1", "2026-01-01", ""],
        ["calls_made", "", "sam.sdr", "", "", "month", "1", "2026-01-01", "2025-01-01"],
        ["calls_made", "rep", "", "", "", "month", "1", "2026-01-01", ""],
    ]
    report = do_import("targets", write_csv(tmp_path / "b.csv", rows), user=world["manager"])
    assert errors_of(report) == [
        (2, "kpi"),
        (3, "team"),
        (4, "scope"),
        (5, "period"),
        (6, "scope"),
        (7, "scope"),
    ]
    assert not Target.objects.exists()


# ---------------------------------------------------------------------------
# Every kind's template, in every file format
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("variant", ["utf-8", "cp1252;", "xlsx"])
@pytest.mark.parametrize("kind", list(KINDS))
def test_every_kinds_template_imports_in_every_file_format(world, tmp_path, kind, variant):
    if kind == "stage-history":  # moves need their deal
        header, example = template_rows(KINDS["opportunities"].columns)
        do_import("opportunities", write_csv(tmp_path / "o.csv", [header, example]))
    header, example = template_rows(KINDS[kind].columns)
    if variant == "xlsx":
        path = write_xlsx(tmp_path / "t.xlsx", [header, example])
    elif variant == "cp1252;":
        path = write_csv(tmp_path / "t.csv", [header, example], delimiter=";", encoding="cp1252")
    else:
        path = write_csv(tmp_path / "t.csv", [header, example])
    report = do_import(kind, path)
    assert report.errors == []
    # The example company is the fixture's CRM-1001: the template adds its organisation number.
    assert counts(report) == ((0, 1, 0) if kind == "companies" else (1, 0, 0))
    assert counts(do_import(kind, path)) == (0, 0, 1)
