"""Every importable kind, by its slug (the order is the order to import a CRM export in)."""

from __future__ import annotations

from pipeline.imports.kinds.activities import ActivityKind
from pipeline.imports.kinds.crm import CompanyKind, ContactKind, LeadKind
from pipeline.imports.kinds.deals import OpportunityKind, StageHistoryKind
from pipeline.imports.kinds.plans import RepCostKind, TargetKind

KINDS = {
    kind.slug: kind
    for kind in (
        CompanyKind(),
        ContactKind(),
        LeadKind(),
        OpportunityKind(),
        StageHistoryKind(),
        ActivityKind(),
        RepCostKind(),
        TargetKind(),
    )
}


def kind_choices() -> list[tuple[str, str]]:
    return [(slug, str(kind.label)) for slug, kind in KINDS.items()]
