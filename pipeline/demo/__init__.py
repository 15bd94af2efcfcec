"""Demo data: a believable Swedish B2B sales organisation, generated in bulk and deterministically.

Everything comes from `random.Random(seed)` and `today`: the same pair gives the same rows. Rows are
written with `bulk_create` in one transaction (the per-row services would take minutes), so this
package sets every derived field the services set — local days, `closed_at`, a complete stage
history — and keeps their invariants. History ends at the start of `today` (site time); only
planned activities lie ahead, in the next two weeks. Every generated row is marked as demo data:
users by a `demo-` username, everything else by a `demo-` external id.

Modules: `words` (vocabulary, volumes, rates), `parts` (what the builder holds in memory),
`builder` (simulate, then bulk-write) with its mixins `clock`, `organisation`, `deals` and
`activities`, and `targets` (the demo's role and rep targets).
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Q

from activities.models import Activity
from people.models import Team, User
from pipeline.demo.builder import _Builder
from pipeline.demo.parts import DemoSummary, org_number
from pipeline.demo.targets import seed_demo_targets
from pipeline.demo.words import (
    DEMO_LOGINS,
    DEMO_PASSWORD,
    DEMO_PREFIX,
)
from pipeline.models import (
    Company,
    Contact,
    Lead,
    Opportunity,
)

__all__ = [
    "DEMO_LOGINS",
    "DEMO_PASSWORD",
    "DEMO_PREFIX",
    "DemoDataError",
    "DemoDataPresent",
    "DemoSummary",
    "NonDemoDataPresent",
    "demo_data_state",
    "demo_logins_table",
    "org_number",
    "seed_demo",
    "seed_demo_targets",
]


class DemoDataError(Exception):
    """The database is not empty, so demo data is not loaded."""


class DemoDataPresent(DemoDataError):
    """Demo data is already loaded (and nothing else)."""


class NonDemoDataPresent(DemoDataError):
    """The database holds data that is not demo data: seeding would mix the two."""


def demo_data_state() -> str:
    """`"foreign"` if any row is not demo data, else `"demo"` (demo data loaded) or `"empty"`."""
    foreign = [
        User.objects.exclude(username__startswith=DEMO_PREFIX),
        # A team is demo data when a demo user manages it (an unmanaged team is someone else's).
        Team.objects.exclude(
            Q(manager__isnull=False) & Q(manager__username__startswith=DEMO_PREFIX)
        ),
    ] + [
        model.objects.exclude(external_id__startswith=DEMO_PREFIX)
        for model in (Company, Contact, Lead, Opportunity, Activity)
    ]
    if any(queryset.exists() for queryset in foreign):
        return "foreign"
    return "demo" if User.objects.exists() else "empty"


def seed_demo(*, seed: int, scale: float, today: dt.date) -> DemoSummary:
    """Load a demo sales organisation into an empty database, in one transaction.

    Raises `DemoDataPresent` when demo data is already loaded and `NonDemoDataPresent` when the
    database holds anything else; nothing is written then.
    """
    if scale <= 0:
        raise ValueError("scale must be above 0")
    with transaction.atomic():
        state = demo_data_state()
        if state == "foreign":
            raise NonDemoDataPresent(
                "The database holds data that is not demo data (users, teams, companies, "
                "contacts, leads, opportunities or activities); demo data is only loaded into an "
                "empty database. Use a fresh database (e.g. `make clean-db`) for the demo."
            )
        if state == "demo":
            raise DemoDataPresent("Demo data already loaded.")
        builder = _Builder(seed=seed, scale=scale, today=today)
        builder.build()
        builder.write()
        seed_demo_targets(today=today)
        return builder.summary()


def demo_logins_table() -> str:
    """The demo logins that exist, as a plain-text table with their (shared) password."""
    users = {
        u.username: u for u in User.objects.filter(username__in=DEMO_LOGINS).select_related("team")
    }
    if not users:
        return "No demo logins: load the demo data with `manage.py seed_demo`."
    rows = [("username", "password", "role", "team", "name")]
    for username in DEMO_LOGINS:
        if (user := users.get(username)) is not None:
            role = "superuser" if user.is_superuser else user.get_role_display()
            team = user.team.name if user.team else "-"
            rows.append((username, DEMO_PASSWORD, str(role), team, user.get_full_name()))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "Demo logins:\n" + "\n".join(f"  {line.rstrip()}" for line in lines)
