"""Importing activities: the streaming kind (staging table, set-based checks and upsert)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from activities.models import Activity
from kpis.compute.run import recompute, recompute_full
from kpis.models import DirtyCell, KPIValue, RepDay, Source
from pipeline.tests.imports_helpers import do_import, errors_of, write_csv, write_xlsx

STHLM = ZoneInfo("Europe/Stockholm")
HEADER = [
    "external_id",
    "kind",
    "status",
    "owner",
    "occurred_at",
    "booked_by",
    "booked_at",
    "direction",
    "outcome",
    "duration_seconds",
    "replied",
    "clicked",
    "mode",
    "company",
    "contact",
    "lead",
    "opportunity",
    "subject",
    "notes",
]


def row(**values: str) -> list[str]:
    return [values.get(name, "") for name in HEADER]


CLEAN = [
    HEADER,
    row(
        external_id="T-1",
        kind="call",
        owner="sam.sdr",
        occurred_at="2026-03-02 09:30",
        outcome="connected",
        duration_seconds="185",
        contact="CRM-C-1",
        subject="Första samtal",
    ),
    row(
        external_id="T-2",
        kind="email",
        owner="sam@example.se",
        occurred_at="2026-03-02T23:30:00+00:00",
        replied="ja",
    ),
    row(
        external_id="T-3",
        kind="meeting",
        status="planned",
        owner="alex.ae",
        occurred_at="2026-03-10 10:00",
        booked_by="sam.sdr",
        booked_at="2026-03-03 08:00",
        mode="physical",
        contact="CRM-C-1",
    ),
]


def test_a_clean_file_creates_every_row_with_local_days_and_inferred_company(world, tmp_path):
    DirtyCell.objects.all().delete()
    report = do_import("activities", write_csv(tmp_path / "a.csv", CLEAN))
    assert report.errors == []
    assert (report.rows, report.created, report.updated, report.unchanged) == (3, 3, 0, 0)
    assert report.committed
    call = Activity.objects.get(external_id="T-1")
    assert call.owner == world["sdr"]
    assert call.occurred_at == dt.datetime(2026, 3, 2, 9, 30, tzinfo=STHLM)
    assert call.occurred_day == dt.date(2026, 3, 2)
    assert (call.outcome, call.duration_seconds) == ("connected", 185)
    assert call.company == world["company"]  # from the contact
    email = Activity.objects.get(external_id="T-2")
    # 23:30 UTC is 00:30 the next day in Stockholm (UTC+1 in March before the switch).
    assert email.occurred_day == dt.date(2026, 3, 3)
    assert email.replied is True
    meeting = Activity.objects.get(external_id="T-3")
    assert (meeting.booked_by, meeting.booked_day) == (world["sdr"], dt.date(2026, 3, 3))
    assert set(DirtyCell.objects.values_list("rep__username", "day")) == {
        ("sam.sdr", dt.date(2026, 3, 2)),
        ("sam.sdr", dt.date(2026, 3, 3)),
        ("alex.ae", dt.date(2026, 3, 10)),
    }


def test_reimporting_the_same_file_changes_nothing_and_a_changed_row_updates(world, tmp_path):
    path = write_csv(tmp_path / "a.csv", CLEAN)
    do_import("activities", path)
    stamps = dict(Activity.objects.values_list("external_id", "updated_at"))
    DirtyCell.objects.all().delete()
    again = do_import("activities", path)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert again.summary() == "0 created, 0 updated, 3 unchanged"
    assert dict(Activity.objects.values_list("external_id", "updated_at")) == stamps
    assert not DirtyCell.objects.exists()

    changed = [list(r) for r in CLEAN]
    changed[1][HEADER.index("occurred_at")] = "2026-03-05 09:30"
    report = do_import("activities", write_csv(tmp_path / "b.csv", changed))
    assert (report.created, report.updated, report.unchanged) == (0, 1, 2)
    assert Activity.objects.get(external_id="T-1").occurred_day == dt.date(2026, 3, 5)
    assert Activity.objects.count() == 3
    # The old and the new day of the moved call are both recomputed.
    assert set(DirtyCell.objects.values_list("rep__username", "day")) == {
        ("sam.sdr", dt.date(2026, 3, 2)),
        ("sam.sdr", dt.date(2026, 3, 5)),
    }


def test_every_kind_of_bad_row_is_reported_with_its_line_and_nothing_is_written(world, tmp_path):
    bad = [
        HEADER,
        row(external_id="B-1", kind="call", owner="nobody", occurred_at="2026-03-02 09:30"),
        row(external_id="B-2", kind="call", owner="sam.sdr"),
        row(external_id="B-3", kind="call", owner="sam.sdr", occurred_at="2 mars"),
        row(external_id="B-4", kind="fax", owner="sam.sdr", occurred_at="2026-03-02 09:30"),
        row(
            external_id="B-5",
            kind="call",
            owner="sam.sdr",
            occurred_at="2026-03-02 09:30",
            duration_seconds="tre",
        ),
        row(
            external_id="B-6",
            kind="email",
            owner="sam.sdr",
            occurred_at="2026-03-02 09:30",
            outcome="connected",
        ),
        row(
            external_id="B-7",
            kind="call",
            owner="sam.sdr",
            occurred_at="2026-03-02 09:30",
            company="NOPE",
        ),
        row(
            external_id="B-8",
            kind="meeting",
            owner="sam.sdr",
            occurred_at="2026-03-02 09:30",
            booked_by="sam.sdr",
        ),
        row(external_id="B-9", kind="call", owner="olle.other", occurred_at="2026-03-02 09:30"),
        row(
            external_id="B-10",
            kind="call",
            owner="sam.sdr",
            occurred_at="2026-03-02 09:30",
            company="CRM-2002",
            contact="CRM-C-1",
        ),
        row(external_id="B-11", kind="call", owner="sam.sdr", occurred_at="2026-03-02 09:30"),
        row(external_id="B-11", kind="call", owner="sam.sdr", occurred_at="2026-03-02 10:30"),
    ]
    report = do_import("activities", write_csv(tmp_path / "bad.csv", bad), user=world["manager"])
    assert errors_of(report) == [
        (2, "owner"),
        (3, "occurred_at"),
        (4, "occurred_at"),
        (5, "kind"),
        (6, "duration_seconds"),
        (7, "outcome"),
        (8, "company"),
        (9, "booked_at"),
        (10, "owner"),
        (11, "contact"),
        (13, "external_id"),
    ]
    messages = {e.line: e.message for e in report.errors}
    assert messages[2] == "Unknown user “nobody”."
    assert messages[3] == "A value is required."
    assert messages[7] == "Call outcome and duration apply to calls only."
    assert messages[10] == "“olle.other” is not in a team you manage."
    assert not report.committed
    assert not Activity.objects.exists()


def test_a_repeated_external_id_is_reported_on_the_repeat(world, tmp_path):
    rows = [
        HEADER,
        row(external_id="D-1", kind="call", owner="sam.sdr", occurred_at="2026-03-02 09:30"),
        row(external_id="D-2", kind="call", owner="sam.sdr", occurred_at="2026-03-02 09:30"),
        row(external_id="D-1", kind="call", owner="sam.sdr", occurred_at="2026-03-02 10:30"),
    ]
    report = do_import("activities", write_csv(tmp_path / "d.csv", rows))
    assert [(e.line, e.column, e.message) for e in report.errors] == [
        (4, "external_id", "The same external id appears earlier in the file (line 2)."),
    ]
    assert not Activity.objects.exists()


def test_a_manager_cannot_overwrite_another_teams_activity(world, tmp_path):
    Activity.objects.create(
        external_id="X-1",
        kind="call",
        owner=world["other"],
        occurred_at=dt.datetime(2026, 3, 1, 9, tzinfo=STHLM),
        occurred_day=dt.date(2026, 3, 1),
    )
    rows = [
        HEADER,
        row(external_id="X-1", kind="call", owner="sam.sdr", occurred_at="2026-03-02 09:30"),
    ]
    report = do_import("activities", write_csv(tmp_path / "x.csv", rows), user=world["manager"])
    assert [(e.line, e.column) for e in report.errors] == [(2, "external_id")]
    assert Activity.objects.get(external_id="X-1").owner == world["other"]


def test_windows_1252_semicolons_and_decimal_comma(world, tmp_path):
    rows = [
        [h for h in HEADER],
        row(
            external_id="W-1",
            kind="call",
            owner="sam.sdr",
            occurred_at="2026-03-02 09:30",
            duration_seconds="1 200,0",
            subject="Åter­koppling på öl",
        ),
    ]
    path = write_csv(tmp_path / "w.csv", rows, delimiter=";", encoding="cp1252")
    report = do_import("activities", path)
    assert report.errors == []
    call = Activity.objects.get(external_id="W-1")
    assert call.duration_seconds == 1200
    assert call.subject == "Åter­koppling på öl"


def test_xlsx_with_native_dates(world, tmp_path):
    rows = [
        HEADER,
        [
            (
                "X-9"
                if n == "external_id"
                else "call"
                if n == "kind"
                else "sam.sdr"
                if n == "owner"
                else dt.datetime(2026, 3, 2, 9, 30)
                if n == "occurred_at"
                else 42
                if n == "duration_seconds"
                else None
            )
            for n in HEADER
        ],
    ]
    report = do_import("activities", write_xlsx(tmp_path / "a.xlsx", rows))
    assert report.errors == []
    call = Activity.objects.get(external_id="X-9")
    assert call.occurred_at == dt.datetime(2026, 3, 2, 9, 30, tzinfo=STHLM)
    assert call.duration_seconds == 42


def test_a_dry_run_reports_counts_and_writes_nothing(world, tmp_path):
    report = do_import("activities", write_csv(tmp_path / "a.csv", CLEAN), commit=False)
    assert (report.created, report.updated, report.unchanged) == (3, 0, 0)
    assert report.ok and not report.committed
    assert not Activity.objects.exists()


@pytest.mark.parametrize("bom", [True, False])
def test_utf8_with_or_without_bom(world, tmp_path, bom):
    path = write_csv(tmp_path / "u.csv", CLEAN, encoding="utf-8-sig" if bom else "utf-8")
    report = do_import("activities", path)
    assert report.errors == [] and report.created == 3


def test_a_row_is_reported_at_the_line_it_starts_on_when_a_cell_spans_lines(world, tmp_path):
    rows = [
        HEADER,
        row(
            external_id="M-1",
            kind="call",
            owner="sam.sdr",
            occurred_at="2026-03-02 09:30",
            notes="första raden\nandra raden",
        ),
        row(external_id="M-2", kind="call", owner="nobody", occurred_at="2026-03-02 09:30"),
    ]
    report = do_import("activities", write_csv(tmp_path / "m.csv", rows))
    assert errors_of(report) == [(4, "owner")]


def test_a_file_that_is_not_csv_text_is_reported_as_a_whole(world, tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes(b"external_id,kind,owner,occurred_at\n\x81\x8d,call,sam.sdr,2026-03-02\n")
    report = do_import("activities", path)
    assert report.error_count == 1 and report.errors[0].line == 0
    assert "cp1252" in report.errors[0].message
    assert not Activity.objects.exists()


@pytest.mark.parametrize("size", [10, 60])
def test_the_queries_do_not_grow_with_the_rows(
    world, tmp_path, django_assert_max_num_queries, size, monkeypatch
):
    from pipeline.imports.kinds.activities import run as kind

    monkeypatch.setattr(kind, "CHUNK_ROWS", 25)  # several chunks at the larger size
    rows = [HEADER] + [
        row(
            external_id=f"Q-{n}",
            kind="meeting",
            owner="alex.ae",
            occurred_at="2026-03-02 09:30",
            booked_by="sam.sdr",
            booked_at="2026-03-01 09:00",
            contact="CRM-C-1",
        )
        for n in range(size)
    ]
    path = write_csv(tmp_path / "q.csv", rows)
    with django_assert_max_num_queries(30):
        report = do_import("activities", path)
    assert report.created == size


def _stored() -> dict:
    values = set(
        KPIValue.objects.values_list(
            "scope", "scope_id", "kpi", "period", "period_start", "dimension", "value",
            "numerator", "denominator",
        )
    )  # fmt: skip
    fields = [f.name for f in RepDay._meta.fields if f.name not in ("id", "computed_at")]
    return {"values": values, "days": set(RepDay.objects.values_list(*fields))}


def test_an_import_marks_what_it_changed_and_the_nightly_run_then_equals_a_full_one(
    world, tmp_path
):
    now = dt.datetime(2026, 11, 26, 12, tzinfo=dt.UTC)
    recompute_full(now=now)
    do_import("activities", write_csv(tmp_path / "a.csv", CLEAN))
    # Not every family: the owner's day is ACTIVITY, a booker's day only COUNTERS.
    marks = dict(DirtyCell.objects.values_list("day", "sources"))
    assert marks[dt.date(2026, 3, 10)] == Source.ACTIVITY | Source.COUNTERS
    assert marks[dt.date(2026, 3, 3)] == Source.ACTIVITY | Source.COUNTERS  # email + booking

    # The file's rows are older than all history: the run also fills the snapshots (open
    # pipeline, churn) of the periods from March on, as a full run does.
    recompute(now=now)
    incremental = _stored()
    recompute_full(now=now)
    assert _stored() == incremental

    moved = [list(r) for r in CLEAN]
    moved[1][HEADER.index("occurred_at")] = "2026-03-05 09:30"
    do_import("activities", write_csv(tmp_path / "b.csv", moved))
    recompute(now=now)
    incremental = _stored()
    recompute_full(now=now)
    assert _stored() == incremental


def test_new_changed_and_unchanged_rows_in_one_file_write_only_what_differs(world, tmp_path):
    do_import("activities", write_csv(tmp_path / "a.csv", CLEAN))
    before = {
        a.external_id: (a.pk, a.created_at, a.updated_at)
        for a in Activity.objects.order_by("external_id")
    }
    DirtyCell.objects.all().delete()
    mixed = [list(r) for r in CLEAN]
    mixed[1][HEADER.index("outcome")] = "busy"  # T-1 changed, same day
    mixed[3][HEADER.index("booked_by")] = "alex.ae"  # T-3 changed: another booker
    mixed.append(
        row(external_id="T-4", kind="call", owner="anna.am", occurred_at="2026-04-01 08:00")
    )
    report = do_import("activities", write_csv(tmp_path / "b.csv", mixed))
    assert report.errors == []
    assert (report.rows, report.created, report.updated, report.unchanged) == (4, 1, 2, 1)
    after = {a.external_id: a for a in Activity.objects.all()}
    assert set(after) == {"T-1", "T-2", "T-3", "T-4"}
    assert after["T-1"].outcome == "busy"
    assert after["T-3"].booked_by == world["ae"]
    # Changed rows keep their id and creation time and get a new update time; the unchanged
    # row is not touched.
    for key in ("T-1", "T-3"):
        pk, created_at, updated_at = before[key]
        assert (after[key].pk, after[key].created_at) == (pk, created_at)
        assert after[key].updated_at > updated_at
    assert (after["T-2"].pk, after["T-2"].updated_at) == (before["T-2"][0], before["T-2"][2])
    # Cells of the new row and of the changed ones, old booker and new booker alike.
    assert set(DirtyCell.objects.values_list("rep__username", "day")) == {
        ("sam.sdr", dt.date(2026, 3, 2)),  # T-1
        ("alex.ae", dt.date(2026, 3, 10)),  # T-3, its owner's day
        ("sam.sdr", dt.date(2026, 3, 3)),  # T-3, the old booker
        ("alex.ae", dt.date(2026, 3, 3)),  # T-3, the new booker
        ("anna.am", dt.date(2026, 4, 1)),  # T-4
    }


def test_repeats_across_chunks_are_reported_at_their_lines_when_a_cell_spans_lines(
    world, tmp_path, monkeypatch
):
    from pipeline.imports.kinds.activities import run as kind

    monkeypatch.setattr(kind, "CHUNK_ROWS", 2)  # the repeats land in other chunks
    rows = [
        HEADER,
        row(
            external_id="R-1",
            kind="call",
            owner="sam.sdr",
            occurred_at="2026-03-02 09:30",
            notes="rad ett\nrad två\nrad tre",
        ),  # lines 2-4
        row(external_id="R-2", kind="call", owner="sam.sdr", occurred_at="2026-03-02 09:30"),
        row(external_id="R-3", kind="call", owner="sam.sdr", occurred_at="2026-03-02 09:30"),
        row(external_id="R-1", kind="call", owner="sam.sdr", occurred_at="2026-03-02 10:30"),
        row(external_id="R-2", kind="email", owner="alex.ae", occurred_at="2026-03-02 10:30"),
    ]
    report = do_import("activities", write_csv(tmp_path / "r.csv", rows))
    assert [(e.line, e.column, e.message) for e in report.errors] == [
        (7, "external_id", "The same external id appears earlier in the file (line 2)."),
        (8, "external_id", "The same external id appears earlier in the file (line 5)."),
    ]
    assert not report.committed
    assert not Activity.objects.exists()


def test_a_row_stored_by_another_session_after_the_count_rejects_the_whole_file(
    world, tmp_path, postgres_only
):
    """PostgreSQL inserts new rows without ON CONFLICT: the unique index, not the count, guards
    them, so an id stored since the count is refused and reported, and nothing is written."""
    from django.db import transaction

    from pipeline.imports.engine import Context, ImportReport, check_header
    from pipeline.imports.kinds import KINDS, activity_write
    from pipeline.imports.kinds.activities.run import _Run
    from pipeline.imports.readers import read_table

    report = ImportReport(kind="activities")
    ctx = Context(user=None, commit=True)
    with transaction.atomic():
        table = read_table(write_csv(tmp_path / "a.csv", CLEAN))
        _Run(
            ctx, table, check_header(KINDS["activities"], table.header, report), report
        ).stage_rows()
        existing = activity_write.staged_check(ctx=ctx, report=report)
        assert (existing, report.created) == (0, 3)
        Activity.objects.create(
            external_id="T-2",
            kind="email",
            owner=world["ae"],
            occurred_at=dt.datetime(2026, 3, 1, 9, tzinfo=STHLM),
            occurred_day=dt.date(2026, 3, 1),
        )
        activity_write.staged_write(report=report, created=3, updated=0, existing=existing)
        activity_write.stage_drop()
    assert [(e.line, e.column) for e in report.errors] == [(0, "external_id")]
    assert report.errors[0].message.startswith(
        "Another user or import stored one of these external ids while this file was being "
        "imported, so nothing was written: import the file again."
    )
    assert list(Activity.objects.values_list("external_id", "owner")) == [("T-2", world["ae"].pk)]


@pytest.mark.parametrize("file_rows", [CLEAN, [HEADER, row(external_id="G-1", kind="fax")]])
def test_the_row_pass_restores_the_cycle_collector(world, tmp_path, file_rows):
    import gc

    assert gc.isenabled()
    do_import("activities", write_csv(tmp_path / "g.csv", file_rows))
    assert gc.isenabled()
    gc.disable()
    try:
        do_import("activities", write_csv(tmp_path / "h.csv", file_rows), commit=False)
        assert not gc.isenabled()  # left as the caller had it
    finally:
        gc.enable()
