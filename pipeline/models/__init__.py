"""The sales data: companies, contacts, leads, stages, opportunities and their stage history.

`accounts` holds companies and contacts, `leads` leads, `opportunities` stages, opportunities and
stage changes, `rep_costs` rep costs; `common` the choices and constraint they share. Django finds
every model through this module, imported in their declaration order (Company … RepCost, then
ImportJob), which content types and `dumpdata` follow. Callers import from `pipeline.models`.
"""

from pipeline.models.accounts import Company, Contact
from pipeline.models.common import Direction, LeadSource
from pipeline.models.leads import Lead
from pipeline.models.opportunities import DEFAULT_STAGE_NAMES, Opportunity, Stage, StageChange
from pipeline.models.rep_costs import RepCost

# The uploaded import files (pipeline/imports), in a module of their own.
from pipeline.models_imports import ImportJob

__all__ = [
    "DEFAULT_STAGE_NAMES",
    "Company",
    "Contact",
    "Direction",
    "ImportJob",
    "Lead",
    "LeadSource",
    "Opportunity",
    "RepCost",
    "Stage",
    "StageChange",
]
