"""Drill-down: the source rows behind any KPI value (rep, team or organisation; any period).

`records(code=…, scope=…, scope_id=…, period=…, period_start=…)` returns the queryset of the rows
that were counted for that value: activities, bookings, opportunities, leads, stage changes, rep
costs, or companies (churn, repeat purchase). The rows come from the very definitions the
computation uses, never from restated conditions:

- additive counters: the family of `COUNTER_FAMILY[counter]` (`kpis/compute/daily/`), filtered by
  the counter's `where`, the family's rep column and its stored local-day column in `[start, end)`;
- dimensional counters (`stage:<slug>`, `lead_source:<value>` …): the `DIMENSION_FAMILIES` entry
  whose key prefix is the dimension's, with the key annotated as `dimension_` and filtered on;
- the non-additive KPIs: the semantics of `kpis/compute/periodic/` as ORM querysets, on the same
  families where one exists (calls with a company, answered leads, deals won, stage exits).

Scopes: "rep" = rows attributed to that user; "team" = to users whose *current* `team_id` is
`scope_id` (as the stored values); "org" = all rows (`scope_id` is ignored, 0 by convention).

Which rows, and the `part` argument (`records_split` returns `(all, numerator)`):

- counts and sums: the rows counted or summed; `part` must be "all";
- medians: the rows the median is over (each annotated with its missing moment, see below);
- calls_per_customer: the calls with a company (its numerator); its denominator is their distinct
  `company_id`s, not a subset of rows, so `part` must be "all";
- ratios whose numerator and denominator come from the same family: the rows of the union of both
  sides, which is the denominator's rows (call_connect_rate → the calls made, win_rate → deals won
  and lost, lead_conversion_rate → the leads received, stage_conversion → the exited entries,
  churn_rate → the customers active at period start, repeat_purchase_rate → the buyers). The one
  exception is avg_call_minutes, whose numerator sums the talk time of *every* call made while its
  denominator counts the connected ones: its rows are the calls made, so both sides read from them.
  `part="numerator"` narrows to the rows in the numerator (the connected calls, the deals won …),
  `part="denominator"` to those in the denominator;
- ratios across two families: the numerator's rows (activities_per_won_deal → the activities,
  cost_to_revenue → the rep costs, quota_attainment → the deals won); `part="denominator"` gives the
  other family's rows (the deals won); quota_attainment's denominator is a target, not rows.
- `part="numerator"` and `"denominator"` are refused (ValueError) for KPIs that are not ratios;
  `records_split` returns `None` as the numerator for them.

Annotations for the medians: `first_activity_at` on leads (lead_response_minutes, minutes from
`received_at`), `entered_at` on the exit rows of days_in_stage (days to the row's `changed_at`);
sales_cycle_days reads `created_at` → `closed_at`. Churn and repeat rows carry
`purchases_at_start` / `purchases_at_end` (purchases in the 365 days before S and E). Snapshot rows
(open_opportunities, pipeline_value) carry `stage_then_id`, the stage they were in at T.

Every queryset `select_related`s what a drill-down table shows, so a page lists it in one query.

`request` holds the request and its answer (and `SHOWN`), `counters` the rows of the additive
KPIs and ratios, `stored` those of the non-additive ones, `selectors` the entry points. Callers
import from `kpis.drilldown`.
"""

from kpis.drilldown.request import PARTS, SCOPES, SHOWN, Part
from kpis.drilldown.selectors import records, records_split

__all__ = ["PARTS", "SCOPES", "SHOWN", "Part", "records", "records_split"]
