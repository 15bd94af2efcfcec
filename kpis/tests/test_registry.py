"""The registry must match the KPI contract in shared/KPIS.md, code for code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kpis.registry import CODES, REGISTRY, Kind, role_preset

KPIS_MD = Path(__file__).resolve().parents[3] / "shared" / "KPIS.md"


def _contract() -> str:
    if not KPIS_MD.exists():
        pytest.skip(f"{KPIS_MD} not found beside the checkout")
    return KPIS_MD.read_text()


def test_registry_declares_exactly_the_codes_of_the_contract():
    table_rows = re.findall(r"^\| (`[a-z_0-9]+`(?: / `[a-z_0-9]+`)*)", _contract(), re.M)
    contract_codes = {code for row in table_rows for code in re.findall(r"`([a-z_0-9]+)`", row)}
    assert contract_codes == set(CODES)


@pytest.mark.parametrize("role", ["sdr", "ae", "am"])
def test_role_presets_match_the_contract(role):
    text = _contract()
    line = re.search(rf"\(`{role}`\): (.+?)\.\n(?:- |\n)", text, re.S).group(1)
    expected = set(re.findall(r"`([a-z_0-9]+)`", line))
    assert {k.code for k in role_preset(role)} == expected


def test_results_are_lagging_and_everything_else_leading():
    assert {k.code for k in REGISTRY.values() if k.kind == Kind.LAGGING} == {
        k.code for k in REGISTRY.values() if k.category == "result"
    }
