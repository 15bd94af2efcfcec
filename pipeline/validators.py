"""Field validators for the pipeline models."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from stdnum.exceptions import InvalidChecksum
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.se import orgnr


def normalize_org_number(value: str) -> str:
    """A Swedish organisation number in its canonical `NNNNNN-NNNN` form; raises if invalid."""
    value = (value or "").strip()
    if not value:
        return ""
    try:
        return orgnr.format(orgnr.validate(value))
    except InvalidChecksum:
        raise ValidationError(
            _("%(value)s is not a valid organisation number: the check digit is wrong."),
            code="org_number_checksum",
            params={"value": value},
        ) from None
    except StdnumError:
        raise ValidationError(
            _("%(value)s is not a valid organisation number: use ten digits, as NNNNNN-NNNN."),
            code="org_number_format",
            params={"value": value},
        ) from None


def validate_org_number(value: str) -> None:
    normalize_org_number(value)


def validate_first_of_month(value: dt.date) -> None:
    if value and value.day != 1:
        raise ValidationError(
            _("Use the first day of the month (costs are entered per month)."),
            code="not_first_of_month",
        )
