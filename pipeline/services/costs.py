"""Rep costs, entered monthly (salary, bonus, other)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import transaction

from kpis.services import dirty_cells_mark
from pipeline.models import RepCost

if TYPE_CHECKING:
    from people.models import User


@transaction.atomic
def rep_cost_set(*, rep: User, month: dt.date, kind: str, amount: Decimal | int | str) -> RepCost:
    """Set a rep's cost of one kind for one month (replacing any earlier figure)."""
    cost = RepCost.objects.filter(rep=rep, month=month, kind=kind).first() or RepCost(
        rep=rep, month=month, kind=kind
    )
    cost.amount = Decimal(str(amount))
    cost.full_clean()
    cost.save()
    dirty_cells_mark(cells=[(rep.pk, month)])
    return cost
