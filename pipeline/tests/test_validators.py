"""Organisation numbers and cost months: what the validators accept, refuse and store."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from pipeline.models import Company
from pipeline.validators import (
    normalize_org_number,
    validate_first_of_month,
    validate_org_number,
)


# ---------------------------------------------------------------------------
# normalize_org_number / validate_org_number
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("556036-0793", "556036-0793"),
        ("5560360793", "556036-0793"),
        ("556036 0793", "556036-0793"),
        ("55 60 36 07 93", "556036-0793"),
        ("  556036-0793  ", "556036-0793"),
        ("2021005489", "202100-5489"),
        ("802002-4280", "802002-4280"),
    ],
)
def test_valid_org_number_is_normalized_to_nnnnnn_dash_nnnn(raw, canonical):
    assert normalize_org_number(raw) == canonical
    validate_org_number(raw)  # Does not raise.


@pytest.mark.parametrize("blank", ["", "   ", None])
def test_blank_org_number_normalizes_to_empty(blank):
    assert normalize_org_number(blank) == ""


@pytest.mark.parametrize("raw", ["556036-0794", "5560360790", "202100-5488"])
def test_org_number_with_wrong_check_digit_is_refused(raw):
    with pytest.raises(ValidationError) as excinfo:
        validate_org_number(raw)

    assert excinfo.value.code == "org_number_checksum"
    assert "check digit is wrong" in excinfo.value.messages[0]
    assert raw in excinfo.value.messages[0]


@pytest.mark.parametrize(
    "raw",
    [
        "556036-079",  # nine digits
        "55603607931",  # eleven digits
        "16556036-0793",  # twelve digits (the "16" century prefix is not accepted)
        "12345",
    ],
)
def test_org_number_of_wrong_length_is_refused(raw):
    with pytest.raises(ValidationError) as excinfo:
        normalize_org_number(raw)

    assert excinfo.value.code == "org_number_format"
    assert "use ten digits" in excinfo.value.messages[0]


@pytest.mark.parametrize("raw", ["55603A0793", "ABCDEF-GHIJ", "556036/0793"])
def test_org_number_with_letters_or_other_characters_is_refused(raw):
    with pytest.raises(ValidationError) as excinfo:
        normalize_org_number(raw)

    assert excinfo.value.code == "org_number_format"


@pytest.mark.django_db
# ---------------------------------------------------------------------------
# Company.full_clean(): the field validator plus normalization in clean()
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("raw", ["5560360793", "556036 0793", "556036-0793"])
def test_company_full_clean_stores_the_canonical_org_number(raw):
    company = Company(name="Acme AB", org_number=raw)

    company.full_clean()

    assert company.org_number == "556036-0793"


@pytest.mark.django_db
def test_company_full_clean_accepts_a_blank_org_number():
    company = Company(name="Acme AB", org_number="")

    company.full_clean()

    assert company.org_number == ""


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("556036-0794", "the check digit is wrong"),
        ("55603A0793", "use ten digits"),
        ("556036-079", "use ten digits"),
    ],
)
def test_company_full_clean_refuses_an_invalid_org_number_on_the_field(raw, message):
    company = Company(name="Acme AB", org_number=raw)

    with pytest.raises(ValidationError) as excinfo:
        company.full_clean()

    assert set(excinfo.value.message_dict) == {"org_number"}
    assert message in excinfo.value.message_dict["org_number"][0]


@pytest.mark.django_db
@pytest.mark.parametrize("raw", ["55 60 36 07 93", " 556036-0793 "])
def test_company_full_clean_normalizes_a_valid_org_number_typed_with_extra_spaces(raw):
    company = Company(name="Acme AB", org_number=raw)

    company.full_clean()

    assert company.org_number == "556036-0793"


# ---------------------------------------------------------------------------
# validate_first_of_month
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("month", [dt.date(2026, 1, 1), dt.date(2026, 2, 1), dt.date(2024, 12, 1)])
def test_first_of_month_is_accepted(month):
    validate_first_of_month(month)  # Does not raise.


@pytest.mark.parametrize("day", [dt.date(2026, 1, 2), dt.date(2026, 2, 28), dt.date(2026, 3, 31)])
def test_a_day_other_than_the_first_is_refused_as_a_cost_month(day):
    with pytest.raises(ValidationError) as excinfo:
        validate_first_of_month(day)

    assert excinfo.value.code == "not_first_of_month"
    assert "first day of the month" in excinfo.value.messages[0]
