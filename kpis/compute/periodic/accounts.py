"""churn_rate and repeat_purchase_rate over the companies each scope owns.

A purchase is an opportunity currently won, at its `closed_at`, whoever owned it. Purchases are
counted per (period, company) in the 365 days before S and before E, each company is flagged
(active at S, churned, buyer, repeat buyer), the flags are counted per current owner and summed
per team and organisation: a company has one owner, so the counts are additive.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import F

from pipeline.models import Company, Opportunity, Stage

from .sql import FLOAT, Cte, insert, moment, orm_cte, param, period_columns, rollup, table


def accounts(common: list[Cte], lo: dt.datetime, hi: dt.datetime, now: dt.datetime) -> int:
    """churn_rate and repeat_purchase_rate over the companies each scope owns."""
    purchases = (
        Opportunity.objects.filter(
            stage__outcome=Stage.Outcome.WON,
            closed_at__isnull=False,
            closed_at__gte=lo,
            closed_at__lt=hi,
        )
        .order_by()
        .values(company_=F("company_id"), at_=F("closed_at"))
    )
    in_start = "f.at_ >= p.start_lo AND f.at_ < p.at_start"
    in_end = "f.at_ >= p.end_lo AND f.at_ < p.at_end"
    flags = ("active_start", "churned", "buyers", "repeaters")
    ctes = common + [
        orm_cte("kpi_purchases", purchases),
        (
            "kpi_counts",
            "SELECT p.pid AS pid, f.company_ AS company_id, "  # noqa: S608
            f"SUM(CASE WHEN {in_start} THEN 1 ELSE 0 END) AS at_start, "
            f"SUM(CASE WHEN {in_end} THEN 1 ELSE 0 END) AS at_end "
            f"FROM kpi_purchases f JOIN kpi_periods p ON ({in_start}) OR ({in_end}) "
            "GROUP BY p.pid, f.company_",
            [],
        ),
        (
            # Companies per current owner (NULL: no owner, the organisation's only).
            "kpi_owned",
            "SELECT co.owner_id AS owner_id, c.pid AS pid, "  # noqa: S608
            "SUM(CASE WHEN c.at_start > 0 THEN 1 ELSE 0 END) AS active_start, "
            "SUM(CASE WHEN c.at_start > 0 AND c.at_end = 0 THEN 1 ELSE 0 END) AS churned, "
            "SUM(CASE WHEN c.at_end > 0 THEN 1 ELSE 0 END) AS buyers, "
            "SUM(CASE WHEN c.at_end > 1 THEN 1 ELSE 0 END) AS repeaters "
            f"FROM kpi_counts c JOIN {table(Company)} co ON co.id = c.company_id "
            "GROUP BY co.owner_id, c.pid",
            [],
        ),
        (
            f"kpi_agg (sk, scope_id, pid, {', '.join(flags)})",
            rollup("kpi_owned", flags, "r.owner_id IS NOT NULL"),
            [],
        ),
    ]

    def select(num: str, den: str) -> str:
        return (
            f"SELECT {period_columns(param('text'))}, '', "  # noqa: S608
            f"CAST(a.{num} AS {FLOAT}) / a.{den}, CAST(a.{num} AS {FLOAT}), "
            f"CAST(a.{den} AS {FLOAT}), {param('moment')} "
            f"FROM kpi_agg a JOIN kpi_periods p ON p.pid = a.pid WHERE a.{den} > 0"
        )

    return insert(
        ctes,
        f"{select('churned', 'active_start')} UNION ALL {select('repeaters', 'buyers')}",
        ["churn_rate", moment(now), "repeat_purchase_rate", moment(now)],
    )
