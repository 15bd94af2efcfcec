"""`manage.py import_data KIND FILE [--commit]`: dry run by default, reports, templates."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from activities.models import Activity
from pipeline.models import RepCost
from pipeline.tests.imports_helpers import write_csv

ROWS = [
    ["external_id", "kind", "owner", "occurred_at"],
    ["C-1", "email", "sam.sdr", "2026-03-02 09:30"],
    ["C-2", "email", "alex.ae", "2026-03-02 10:30"],
]


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_data", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_a_dry_run_writes_nothing_and_commit_writes(world, tmp_path):
    path = str(write_csv(tmp_path / "a.csv", ROWS))
    out, err = run("activities", path)
    assert out == "activities: 2 rows, 2 created, 0 updated, 0 unchanged (dry run)\n"
    assert "100%" in err  # the tqdm bar, on stderr
    assert not Activity.objects.exists()
    out, _err = run("activities", path, "--commit", "--no-progress")
    assert out == "activities: 2 rows, 2 created, 0 updated, 0 unchanged (committed)\n"
    assert Activity.objects.count() == 2
    out, _err = run("activities", path, "--commit", "--no-progress")
    assert out == "activities: 2 rows, 0 created, 0 updated, 2 unchanged (committed)\n"


def test_bad_rows_are_listed_and_the_command_fails(world, tmp_path):
    rows = [*ROWS, ["C-3", "email", "olle.other", "2026-03-02 10:30"]]
    path = str(write_csv(tmp_path / "a.csv", rows))
    with pytest.raises(CommandError, match="1 bad row"):
        run("activities", path, "--commit", "--no-progress", "--user", "maja.manager")
    assert not Activity.objects.exists()


def test_bad_rows_are_written_to_stderr(world, tmp_path, capsys):
    rows = [ROWS[0], ["C-3", "fax", "sam.sdr", "2026-03-02 10:30"]]
    path = str(write_csv(tmp_path / "a.csv", rows))
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command(
            "import_data", "activities", path, "--no-progress", stderr=err, stdout=io.StringIO()
        )
    assert err.getvalue().startswith("line 2 [kind]: “fax” is not one of: call, email,")


def test_a_file_level_error_names_the_file_not_a_line(world, tmp_path):
    path = str(write_csv(tmp_path / "a.csv", ROWS))
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command(
            "import_data", "activities", path, "--no-progress", "--encoding", "no-such-codec",
            stderr=err, stdout=io.StringIO(),
        )  # fmt: skip
    assert err.getvalue() == "file: Unknown encoding “no-such-codec”.\n"


def test_options_override_the_detected_format(world, tmp_path):
    rows = [["rep", "month", "amount"], ["alex.ae", "2026-03", "1 000,50"]]
    path = str(write_csv(tmp_path / "costs.txt", rows, delimiter="|", encoding="cp1252"))
    run(
        "rep-costs",
        path,
        "--commit",
        "--no-progress",
        "--delimiter",
        "|",
        "--encoding",
        "cp1252",
        "--format",
        "csv",
    )
    assert str(RepCost.objects.get().amount) == "1000.50"


def test_template_prints_the_header_and_an_example(db):
    out, _err = run("targets", "--template")
    assert out.splitlines() == [
        "kpi,scope,rep,team,role,period,value,valid_from,valid_to",
        "meetings_booked,rep,sam.sdr,,,month,12,2026-01-01,",
    ]
