"""The team export in the import formats: scoped to the manager's teams, and round-trip —
importing the exported files changes nothing, a changed cell updates its row."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from zoneinfo import ZoneInfo

from django.urls import reverse

from activities.services import activity_log
from pipeline import services
from pipeline.imports.export import team_export_zip
from pipeline.models import Company, Lead, Opportunity
from pipeline.tests.imports_helpers import do_import

STHLM = ZoneInfo("Europe/Stockholm")


def _data(world) -> None:
    when = dt.datetime(2026, 3, 2, 9, 30, 15, 123456, tzinfo=STHLM)
    lead = services.lead_create(
        name="Webb", assigned_to=world["sdr"], received_at=when, contact=world["contact"]
    )
    opp = services.opportunity_create(
        name="Licenser",
        company=world["company"],
        owner=world["ae"],
        created_by=world["sdr"],
        amount="1000.50",
        lead=lead,
        created_at=when,
        stage="meeting",
    )
    services.opportunity_move_stage(
        opportunity=opp,
        to_stage="won",
        changed_by=world["ae"],
        at=when + dt.timedelta(days=3),
        amount="2000",
    )
    activity_log(
        owner=world["sdr"],
        kind="call",
        occurred_at=when,
        outcome="connected",
        duration_seconds=61,
        lead=lead,
        contact=world["contact"],
    )
    activity_log(
        owner=world["ae"],
        kind="meeting",
        occurred_at=when,
        status="planned",
        booked_by=world["sdr"],
        booked_at=when - dt.timedelta(days=1),
        mode="digital",
        opportunity=opp,
        external_id="CAL-1",
    )
    activity_log(owner=world["other"], kind="email", occurred_at=when, replied=True)
    services.rep_cost_set(rep=world["ae"], month=dt.date(2026, 3, 1), kind="salary", amount="50000")
    services.rep_cost_set(rep=world["other"], month=dt.date(2026, 3, 1), kind="salary", amount="1")


def _files(archive) -> dict[str, list[list[str]]]:
    with zipfile.ZipFile(archive) as z:
        return {
            name.removesuffix(".csv"): list(
                csv.reader(io.StringIO(z.read(name).decode("utf-8-sig")))
            )
            for name in z.namelist()
        }


def test_the_export_holds_the_managers_teams_rows_only(world):
    _data(world)
    files = _files(team_export_zip(user=world["manager"]))
    assert set(files) == {
        "companies",
        "contacts",
        "leads",
        "opportunities",
        "stage-history",
        "activities",
        "rep-costs",
        "targets",
    }
    activities = files["activities"]
    assert activities[0][:4] == ["external_id", "kind", "status", "owner"]
    assert sorted(row[3] for row in activities[1:]) == ["alex.ae", "sam.sdr"]
    assert [row[0] for row in files["rep-costs"][1:]] == ["alex.ae"]
    assert files["stage-history"][1][:2] == [Opportunity.objects.get().external_id, "won"]
    # Rows made in Saljsite got a stable key; a key from elsewhere is kept.
    assert sorted(row[0] for row in activities[1:])[0] == "CAL-1"
    lead = Lead.objects.get()
    assert lead.external_id == f"saljsite-ld-{lead.pk}"


def test_importing_the_export_changes_nothing_and_a_changed_cell_updates(world, tmp_path):
    _data(world)
    files = _files(team_export_zip(user=world["manager"]))
    for kind, rows in files.items():
        path = tmp_path / f"{kind}.csv"
        with open(path, "w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows(rows)
        report = do_import(kind, path, user=world["manager"])
        assert report.errors == [], kind
        assert (report.created, report.updated) == (0, 0), kind
        assert report.unchanged == len(rows) - 1, kind
    companies = files["companies"]
    companies[1][1] = "Nytt namn AB"
    path = tmp_path / "companies2.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(companies)
    report = do_import("companies", path, user=world["manager"])
    assert (report.created, report.updated) == (0, 1)
    assert Company.objects.filter(name="Nytt namn AB").exists()


def test_the_admin_serves_the_export_to_managers(world, client):
    _data(world)
    client.force_login(world["manager"])
    url = reverse("admin:pipeline_importjob_export")
    assert client.get(url).status_code == 405  # it assigns external ids: never on a GET
    response = client.post(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    files = _files(io.BytesIO(b"".join(response.streaming_content)))
    assert len(files["activities"]) == 3
    client.force_login(world["sdr"])
    assert client.post(url).status_code == 302
