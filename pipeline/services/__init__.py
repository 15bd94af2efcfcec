"""Every write of the pipeline: companies and contacts, leads, opportunities and stage moves, rep
costs. Callers import from `pipeline.services`; the modules group the use cases."""

from pipeline.services.accounts import company_save, contact_save
from pipeline.services.costs import rep_cost_set
from pipeline.services.leads import (
    CLOSED_LEAD_STATUSES,
    LEAD_EDITABLE_FIELDS,
    RESPONSE_KINDS,
    lead_assign,
    lead_convert,
    lead_create,
    lead_respond,
    lead_update,
)
from pipeline.services.opportunities import (
    OPPORTUNITY_EDITABLE_FIELDS,
    opportunity_create,
    opportunity_move_stage,
    opportunity_update,
)

__all__ = [
    "CLOSED_LEAD_STATUSES",
    "LEAD_EDITABLE_FIELDS",
    "OPPORTUNITY_EDITABLE_FIELDS",
    "RESPONSE_KINDS",
    "company_save",
    "contact_save",
    "lead_assign",
    "lead_convert",
    "lead_create",
    "lead_respond",
    "lead_update",
    "opportunity_create",
    "opportunity_move_stage",
    "opportunity_update",
    "rep_cost_set",
]
