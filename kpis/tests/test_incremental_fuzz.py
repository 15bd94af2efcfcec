"""A randomized differential test of the KPI engine: after any sequence of writes through the
services, incremental runs store exactly what a full run stores.

Each seed draws a deterministic sequence of writes (activities logged, booked, edited, completed,
cancelled and deleted; leads, opportunities, stage moves, accounts, contacts, rep costs, teams),
with an incremental run (`recompute`) after every 1–8 of them, and now and then a freshness
refresh or a full run. At the end the stored tables are snapshotted, a full run rebuilds
everything, and both snapshots must be equal. Dates run from ~14 months back to a few days ahead,
often on the edges of days, weeks, months, quarters and years and around Stockholm's DST
changes. A write a service refuses (ValidationError) is skipped, as a user would be told.

The clock stands still at NOW, the moment every run is given; a few seeds let it move instead
(from nine days before NOW, by minutes, hours or past midnight between writes; writes and runs
read it, and the final runs happen at its last moment), as nightly runs meet ended periods.

Environment:
- `KPI_FUZZ_SEEDS` (default 6) seeds with the clock at NOW and `KPI_FUZZ_MOVING_SEEDS`
  (default 2) with a moving clock, from `KPI_FUZZ_FIRST_SEED` (default 0), `KPI_FUZZ_OPS`
  (default 60) writes each: `KPI_FUZZ_SEEDS=200 pytest kpis/tests/test_incremental_fuzz.py`;
- `KPI_FUZZ_SHRINK=1`: on a failure, shrink the sequence (delta debugging, each trial rolled
  back) and report the smallest failing one as well.

Every operation names the objects it touches by label (an activity's subject, a lead's or an
opportunity's name), so any subsequence of a log can be replayed: an operation whose objects do
not exist in it is skipped.
"""

from __future__ import annotations

import datetime as dt
import os
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from activities import services as activities
from activities.models import Activity
from kpis.compute import run
from kpis.compute.run import recompute, recompute_full, refresh_reps
from kpis.models import (
    COUNTER_FIELDS,
    CallDay,
    CallTeam,
    KPIValue,
    RepDay,
    RepDayDimension,
    RepPeriod,
    RepPeriodDimension,
)
from people.models import Team, User
from people.services import user_set_team
from people.tests.factories import ManagerFactory, TeamFactory, UserFactory
from pipeline import services as pipeline
from pipeline.models import Company, Contact, Lead, Opportunity

pytestmark = pytest.mark.django_db

UTC = dt.UTC
NOW = dt.datetime(2026, 11, 26, 12, tzinfo=UTC)  # Thursday of ISO week 48
EARLIEST_DAYS = 425  # ~14 months
LATEST = NOW + dt.timedelta(days=5)

FIRST_SEED = int(os.environ.get("KPI_FUZZ_FIRST_SEED", "0"))
SEEDS = int(os.environ.get("KPI_FUZZ_SEEDS", "6"))
OPERATIONS = int(os.environ.get("KPI_FUZZ_OPS", "60"))
SHRINK = os.environ.get("KPI_FUZZ_SHRINK", "") not in ("", "0")
MOVING_SEEDS = int(os.environ.get("KPI_FUZZ_MOVING_SEEDS", "2"))

# The services' clock (`timezone.now`) and every run's `now`: NOW, unless time moves.
CLOCK = [NOW]


def clock() -> dt.datetime:
    return CLOCK[0]


USERS = {  # username: (role, team)
    "sdr1": ("sdr", "A"),
    "sdr2": ("sdr", "B"),
    "ae1": ("ae", "A"),
    "ae2": ("ae", "B"),
    "am1": ("am", "A"),
    "am2": ("am", "B"),
    "boss": ("manager", "A"),
}
COMPANIES = {"C1": "am1", "C2": "am2", "C3": "ae1", "C4": "ae2"}
STAGES = ("qualification", "meeting", "proposal", "negotiation", "won", "lost")
OPEN_STAGES = STAGES[:4]
KINDS = ("call", "email", "meeting", "demo", "lunch")
BOOKABLE = ("meeting", "demo", "lunch")


# ---------------------------------------------------------------------------
# Moments: uniform, on period edges, around DST changes, near now
# ---------------------------------------------------------------------------
DST_CHANGES = ((2025, 10, 26), (2026, 3, 29), (2026, 10, 25))
# Seconds around an edge: on it, just before or after, the hour DST repeats or skips.
OFFSETS = (-3601, -3600, -1800, -60, -1, 0, 1, 59, 60, 1800, 3600, 7200)


def _local(*args: int) -> dt.datetime:
    """A Stockholm wall-clock moment (aware, through the site zone)."""
    return timezone.make_aware(dt.datetime(*args), timezone.get_default_timezone())


def _edges() -> list[dt.datetime]:
    """Local midnights that start a week, month, quarter or year within the drawn range, and
    the DST changes (2025-10-26, 2026-03-29, 2026-10-25: 01:00 UTC)."""
    edges = []
    day = (NOW - dt.timedelta(days=EARLIEST_DAYS)).date()
    while day <= LATEST.date():
        if day.weekday() == 0 or day.day == 1:
            edges.append(_local(day.year, day.month, day.day))
        day += dt.timedelta(days=1)
    dst = [dt.datetime(y, m, d, 1, tzinfo=UTC) for y, m, d in DST_CHANGES]
    return edges + dst


def moment(rng: random.Random, lo: dt.datetime, hi: dt.datetime) -> dt.datetime:
    """A moment in [lo, hi]: on an edge (± a few seconds to hours) in ~40 % of draws, in the last
    ten days in ~20 %, uniform otherwise; now and then with microseconds."""
    hi = max(lo, hi)
    roll = rng.random()
    at = None
    if roll < 0.4:
        edges = [e for e in EDGES if lo <= e <= hi]
        if edges:
            at = rng.choice(edges) + dt.timedelta(seconds=rng.choice(OFFSETS))
    elif roll < 0.6:
        lo = max(lo, min(hi, NOW - dt.timedelta(days=10)))
    if at is None or not lo <= at <= hi:
        at = lo + dt.timedelta(seconds=rng.randrange(int((hi - lo).total_seconds()) + 1))
    if rng.random() < 0.1:
        at += dt.timedelta(microseconds=rng.randrange(1, 1_000_000))
        at = min(at, hi)
    return at


EDGES: list[dt.datetime] = []  # filled on first use (needs the settings' time zone)


WEIGHTS: tuple[tuple[str, int], ...] = (
    ("activity_log", 20),
    ("activity_book", 6),
    ("activity_update", 14),
    ("activity_complete", 5),
    ("activity_cancel", 3),
    ("activity_delete", 4),
    ("lead_create", 5),
    ("lead_assign", 3),
    ("lead_update", 2),
    ("lead_respond", 4),
    ("lead_convert", 3),
    ("opportunity_create", 7),
    ("opportunity_move_stage", 12),
    ("opportunity_update", 6),
    ("company_save", 2),
    ("contact_save", 2),
    ("rep_cost_set", 2),
    ("user_set_team", 2),
    ("refresh", 2),
    ("full", 1),
)
# Every seed keeps logging activities: a draw always finds a write to make.
ALWAYS = frozenset({"activity_log"})


# ---------------------------------------------------------------------------
# Operations: a name and arguments, objects named by label
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Ref:
    """An object by label: a user's username, a team's, company's or contact's name, an
    activity's subject, a lead's or opportunity's name."""

    model: type
    label: str

    def __repr__(self) -> str:
        return self.label


LABEL_FIELD = {
    User: "username",
    Team: "name",
    Company: "name",
    Contact: "name",
    Activity: "subject",
    Lead: "name",
    Opportunity: "name",
}


class Missing(Exception):
    """An operation names an object that does not exist (in a replayed subsequence)."""


def resolve(value: Any) -> Any:
    if isinstance(value, Ref):
        obj = value.model.objects.filter(**{LABEL_FIELD[value.model]: value.label}).first()
        if obj is None:
            raise Missing(value.label)
        return obj
    return value


@dataclass(frozen=True)
class Op:
    name: str
    args: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        def show(v: Any) -> str:
            if isinstance(v, dt.datetime):
                return v.astimezone(UTC).isoformat().replace("+00:00", "Z")
            return repr(v)

        return f"{self.name}({', '.join(f'{k}={show(v)}' for k, v in self.args.items())})"


def _kind_fields(kind: str, rng: random.Random) -> dict[str, Any]:
    """The kind-specific fields of an activity, valid for `kind` (others at their defaults)."""
    fields: dict[str, Any] = {
        "outcome": "",
        "duration_seconds": None,
        "replied": False,
        "clicked": False,
        "mode": "",
    }
    if kind == "call":
        fields["outcome"] = rng.choice(["connected", "connected", "no_answer", "busy", ""])
        fields["duration_seconds"] = rng.choice([None, 0, 42, 179, 180, 181, 900])
    elif kind == "email":
        fields["replied"], fields["clicked"] = rng.random() < 0.4, rng.random() < 0.3
    elif kind in ("meeting", "demo"):
        fields["mode"] = rng.choice(["", "physical", "digital"])
    return fields


class World:
    """The labels of what exists, for drawing operations; read from the database each time."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.counter = 0
        # Swarm testing: each seed leaves some kinds of writes out and draws its dates from
        # 14 months, 4 months or 4 weeks, so that rarer interleavings get dense somewhere.
        self.weights = [
            (name, weight if name in ALWAYS or rng.random() < 0.75 else 0)
            for name, weight in WEIGHTS
        ]
        self.earliest = NOW - dt.timedelta(days=rng.choice([EARLIEST_DAYS, EARLIEST_DAYS, 120, 28]))

    def moment(self, lo: dt.datetime | None = None, hi: dt.datetime = LATEST) -> dt.datetime:
        return moment(self.rng, self.earliest if lo is None else lo, hi)

    def label(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def pick(self, model: type, *, none: float = 0.0, **filters: Any) -> Ref | None:
        if none and self.rng.random() < none:
            return None
        labels = sorted(model.objects.filter(**filters).values_list(LABEL_FIELD[model], flat=True))
        return Ref(model, self.rng.choice(labels)) if labels else None

    def user(self, **filters: Any) -> Ref | None:
        return self.pick(User, **filters)

    def links(self) -> dict[str, Any]:
        """Company, contact, lead and opportunity of an activity: mostly consistent (one
        company), sometimes none, sometimes a link without a company, rarely at odds."""
        rng = self.rng
        company = self.pick(Company)
        links: dict[str, Any] = {"company": company}
        if rng.random() < 0.15:
            links["company"] = None
        for name, model, share in (
            ("contact", Contact, 0.4),
            ("lead", Lead, 0.25),
            ("opportunity", Opportunity, 0.25),
        ):
            if rng.random() < share:
                filters = {} if rng.random() < 0.1 else {"company__name": company.label}
                links[name] = self.pick(model, **filters)
        return links

    # -- activities ----------------------------------------------------------
    def activity_log(self) -> Op:
        rng = self.rng
        kind = rng.choice(KINDS)
        args: dict[str, Any] = {
            "subject": self.label("A"),
            "owner": self.user(),
            "kind": kind,
            "status": rng.choices(["completed", "planned", "cancelled"], [7, 2, 1])[0],
            "occurred_at": self.moment(),
            "direction": "outbound" if rng.random() < 0.85 else "inbound",
            **{k: v for k, v in _kind_fields(kind, rng).items() if v not in ("", None, False)},
            **self.links(),
        }
        if kind in BOOKABLE and rng.random() < 0.3:
            args["booked_by"] = self.user()
            args["booked_at"] = self.moment(hi=args["occurred_at"])
        return Op("activity_log", args)

    def activity_book(self) -> Op:
        rng = self.rng
        occurred = self.moment(lo=NOW - dt.timedelta(days=60))
        return Op(
            "activity_book",
            {
                "subject": self.label("A"),
                "booked_by": self.user(role__in=["sdr", "ae"]),
                "owner": self.user(role__in=["ae", "am"]),
                "kind": rng.choice(BOOKABLE),
                "occurred_at": occurred,
                "booked_at": self.moment(hi=min(occurred, clock())),
                **{k: v for k, v in self.links().items() if k != "opportunity"},
            },
        )

    def activity_update(self) -> Op | None:
        rng = self.rng
        activity = self.pick(Activity)
        if activity is None:
            return None
        changes: dict[str, Any] = {}
        for _ in range(rng.choice([1, 1, 2, 3])):
            what = rng.choice(
                ["occurred_at", "occurred_at", "owner", "company", "contact", "status", "kind",
                 "lead", "opportunity", "booking", "details", "direction"]
            )  # fmt: skip
            if what == "occurred_at":
                changes["occurred_at"] = self.moment()
            elif what == "owner":
                changes["owner"] = self.user()
            elif what == "company":
                changes["company"] = self.pick(Company, none=0.2)
                if rng.random() < 0.7:  # the links would stand in the way
                    changes.update(contact=None, lead=None, opportunity=None)
            elif what in ("contact", "lead", "opportunity"):
                model = {"contact": Contact, "lead": Lead, "opportunity": Opportunity}[what]
                ref = self.pick(model, none=0.25)
                changes[what] = ref
                if ref is not None and rng.random() < 0.7:
                    company = resolve(ref).company
                    changes["company"] = company and Ref(Company, company.name)
            elif what == "status":
                changes["status"] = rng.choice(["completed", "planned", "cancelled"])
            elif what == "kind":
                kind = rng.choice(KINDS)
                changes.update(kind=kind, **_kind_fields(kind, rng))
                if kind not in BOOKABLE:
                    changes.update(booked_by=None, booked_at=None)
            elif what == "booking":
                if rng.random() < 0.3:
                    changes.update(booked_by=None, booked_at=None)
                else:
                    changes.update(booked_by=self.user(), booked_at=self.moment())
            elif what == "details":
                kind = resolve(activity).kind
                changes.update(_kind_fields(kind, rng))
            else:
                changes["direction"] = rng.choice(["outbound", "inbound"])
        return Op("activity_update", {"activity": activity, **changes})

    def activity_complete(self) -> Op | None:
        activity = self.pick(Activity, status="planned")
        if activity is None:
            return None
        args: dict[str, Any] = {"activity": activity}
        if self.rng.random() < 0.5:
            args["occurred_at"] = self.moment(hi=clock())
        return Op("activity_complete", args)

    def activity_cancel(self) -> Op | None:
        activity = self.pick(Activity, status="planned")
        return activity and Op("activity_cancel", {"activity": activity})

    def activity_delete(self) -> Op | None:
        activity = self.pick(Activity)
        return activity and Op("activity_delete", {"activity": activity})

    # -- leads ---------------------------------------------------------------
    def lead_create(self) -> Op:
        rng = self.rng
        contact = self.pick(Contact, none=0.5)
        args: dict[str, Any] = {
            "name": self.label("L"),
            "source": rng.choice(["website", "referral", "event", "partner"]),
            "received_at": self.moment(hi=clock()),
            "assigned_to": self.pick(User, none=0.15, role__in=["sdr", "ae"]),
            "contact": contact,
        }
        if contact is None and rng.random() < 0.5:
            args["company"] = self.pick(Company)
        return Op("lead_create", args)

    def lead_assign(self) -> Op | None:
        lead = self.pick(Lead)
        return lead and Op("lead_assign", {"lead": lead, "to": self.pick(User, none=0.2)})

    def lead_update(self) -> Op | None:
        lead = self.pick(Lead)
        if lead is None:
            return None
        changes: dict[str, Any] = {}
        if self.rng.random() < 0.5:
            changes["status"] = self.rng.choice(["new", "contacted", "qualified", "disqualified"])
        else:
            changes["company"] = self.pick(Company, none=0.3)
            changes["contact"] = None
        return Op("lead_update", {"lead": lead, **changes})

    def lead_respond(self) -> Op | None:
        lead = self.pick(Lead)
        if lead is None:
            return None
        received = resolve(lead).received_at
        at = self.moment(lo=received, hi=clock()) if self.rng.random() < 0.9 else self.moment()
        return Op(
            "lead_respond",
            {
                "lead": lead,
                "by": self.user(),
                "kind": self.rng.choice(["call", "email"]),
                "at": at,
                "subject": self.label("A"),
            },
        )

    def lead_convert(self) -> Op | None:
        lead = self.pick(Lead)
        if lead is None:
            return None
        company = self.pick(Company)
        return Op(
            "lead_convert",
            {
                "lead": lead,
                "by": self.user(role__in=["sdr", "ae"]),
                "name": self.label("O"),
                "company": company,
                "owner": self.pick(User, none=0.3, role__in=["ae", "am"]),
                "amount": self.rng.choice([0, 100, 2500]),
                "created_at": self.moment(lo=resolve(lead).received_at, hi=clock()),
            },
        )

    # -- opportunities -------------------------------------------------------
    def opportunity_create(self) -> Op:
        rng = self.rng
        company = self.pick(Company)
        args: dict[str, Any] = {
            "name": self.label("O"),
            "company": company,
            "owner": self.user(role__in=["ae", "am", "sdr"]),
            "created_by": self.user(),
            "kind": rng.choice(["new_business", "upsell", "renewal"]),
            "lead_source": rng.choice(["website", "referral", "other"]),
            "channel": rng.choice(["field", "inside", "partner"]),
            "amount": rng.choice([0, 100, 1000, 12345]),
            "stage": rng.choice(OPEN_STAGES),
            # Now and then entered ahead: open from a moment still to come.
            "created_at": self.moment(
                lo=clock() if rng.random() < 0.15 else None, hi=clock() + dt.timedelta(days=2)
            ),
        }
        if rng.random() < 0.3:
            args["contact"] = self.pick(Contact, company__name=company.label)
        if rng.random() < 0.2:
            args["lead"] = self.pick(Lead)
        return Op("opportunity_create", args)

    def opportunity_move_stage(self) -> Op | None:
        rng = self.rng
        opp = self.pick(Opportunity)
        if opp is None:
            return None
        current = resolve(opp)
        last = current.stage_changes.order_by("-changed_at", "-id").values_list(
            "changed_at", flat=True
        )[0]
        stages = [s for s in STAGES if s != current.stage.slug]
        stage = rng.choice(stages + ["won", "lost"])  # closing is common
        at = last if rng.random() < 0.1 or last >= clock() else self.moment(lo=last, hi=clock())
        args: dict[str, Any] = {
            "opportunity": opp,
            "to_stage": stage,
            "changed_by": self.user(),
            "at": at,
        }
        if stage == "lost":
            args["lost_reason"] = "price"
        if stage == "won" and rng.random() < 0.5:
            args["amount"] = rng.choice([0, 500, 7777])
        return Op("opportunity_move_stage", args)

    def opportunity_update(self) -> Op | None:
        rng = self.rng
        opp = self.pick(Opportunity)
        if opp is None:
            return None
        changes: dict[str, Any] = {}
        for _ in range(rng.choice([1, 1, 2])):
            what = rng.choice(
                ["company", "owner", "amount", "lead", "contact", "kind", "lead_source", "channel"]
            )
            if what == "company":
                changes.update(company=self.pick(Company), contact=None)
            elif what == "owner":
                changes["owner"] = self.user()
            elif what == "amount":
                changes["amount"] = Decimal(rng.choice([0, 1, 999, 5000]))
            elif what == "lead":
                changes["lead"] = self.pick(Lead, none=0.3)
            elif what == "contact":
                company = changes.get("company") or Ref(Company, resolve(opp).company.name)
                changes["contact"] = self.pick(
                    Contact,
                    none=0.3,
                    **({} if rng.random() < 0.1 else {"company__name": company.label}),
                )
            elif what == "kind":
                changes["kind"] = rng.choice(["new_business", "upsell", "renewal"])
            elif what == "lead_source":
                changes["lead_source"] = rng.choice(["website", "event", "partner"])
            else:
                changes["channel"] = rng.choice(["field", "inside", "online"])
        return Op("opportunity_update", {"opportunity": opp, **changes})

    # -- accounts, costs, teams ---------------------------------------------
    def company_save(self) -> Op:
        return Op(
            "company_save", {"company": self.pick(Company), "owner": self.pick(User, none=0.15)}
        )

    def contact_save(self) -> Op:
        rng = self.rng
        args: dict[str, Any] = {"contact": self.pick(Contact)}
        if rng.random() < 0.6:
            args["company"] = self.pick(Company)
        if rng.random() < 0.6:
            args["is_decision_maker"] = rng.random() < 0.5
        return Op("contact_save", args)

    def rep_cost_set(self) -> Op:
        rng = self.rng
        month = self.moment().astimezone(timezone.get_default_timezone()).date().replace(day=1)
        return Op(
            "rep_cost_set",
            {
                "rep": self.user(),
                "month": month,
                "kind": rng.choice(["salary", "bonus", "other"]),
                "amount": rng.choice([0, 100, 45000]),
            },
        )

    def user_set_team(self) -> Op:
        return Op("user_set_team", {"user": self.user(), "team": self.pick(Team, none=0.2)})

    def refresh(self) -> Op:
        return Op("refresh_reps", {"reps": [self.user(), self.user()]})

    def full(self) -> Op:
        return Op("recompute_full")

    def draw(self) -> Op:
        names, weights = zip(*self.weights, strict=True)
        while True:
            op = getattr(self, self.rng.choices(names, weights)[0])()
            if op is not None:
                return op


# ---------------------------------------------------------------------------
# Running an operation
# ---------------------------------------------------------------------------
def _save_company(*, company: Company, owner: User | None) -> None:
    company.owner = owner
    pipeline.company_save(company=company)


def _save_contact(*, contact: Contact, **changes: Any) -> None:
    for name, value in changes.items():
        setattr(contact, name, value)
    pipeline.contact_save(contact=contact)


def _respond(*, subject: str, **args: Any) -> None:
    activity = pipeline.lead_respond(**args)
    activities.activity_update(activity=activity, subject=subject)


def _recompute_chunked(*, chunks: int, seed: float) -> None:
    """`kpis.tasks.recompute` past its chunk size: each chunk of reps' cells, then the periods
    of the days of every chunk (the chord's callback)."""
    reps = run.dirty_rep_ids()
    random.Random(seed).shuffle(reps)
    days: dict[dt.date, int] = {}
    for i in range(chunks):
        result = run.recompute_cells(now=clock(), rep_ids=reps[i::chunks])
        for day, bits in result.day_sources:
            days[day] = days.get(day, 0) | bits
    run.recompute_periods(days=days, now=clock())


RUNNERS: dict[str, Callable[..., Any]] = {
    "activity_log": activities.activity_log,
    "activity_book": activities.activity_book,
    "activity_update": activities.activity_update,
    "activity_complete": activities.activity_complete,
    "activity_cancel": activities.activity_cancel,
    "activity_delete": activities.activity_delete,
    "lead_create": pipeline.lead_create,
    "lead_assign": pipeline.lead_assign,
    "lead_update": pipeline.lead_update,
    "lead_respond": _respond,
    "lead_convert": pipeline.lead_convert,
    "opportunity_create": pipeline.opportunity_create,
    "opportunity_move_stage": pipeline.opportunity_move_stage,
    "opportunity_update": pipeline.opportunity_update,
    "company_save": _save_company,
    "contact_save": _save_contact,
    "rep_cost_set": pipeline.rep_cost_set,
    "user_set_team": user_set_team,
    "refresh_reps": lambda *, reps: refresh_reps(rep_ids=[r.pk for r in reps], now=clock()),
    "recompute": lambda: recompute(now=clock()),
    "recompute_chunked": _recompute_chunked,
    "recompute_full": lambda: recompute_full(now=clock()),
    "tick": lambda *, to: CLOCK.__setitem__(0, to),
}


def execute(op: Op) -> str:
    """Run one operation; returns "ok", "refused" (ValidationError) or "missing"."""
    try:
        args = {
            k: [resolve(x) for x in v] if isinstance(v, list) else resolve(v)
            for k, v in op.args.items()
        }
    except Missing:
        return "missing"
    try:
        # A refused write leaves nothing behind, as in a request.
        with transaction.atomic():
            RUNNERS[op.name](**args)
    except ValidationError:
        return "refused"
    return "ok"


def _step(rng: random.Random) -> dt.timedelta:
    """How far the clock moves: minutes, hours, or to just past the next local midnight."""
    roll = rng.random()
    if roll < 0.4:
        return dt.timedelta(minutes=rng.randint(1, 90))
    if roll < 0.8:
        return dt.timedelta(hours=rng.randint(1, 36))
    local = timezone.localtime(clock(), timezone.get_default_timezone())
    midnight = _local(local.year, local.month, local.day) + dt.timedelta(days=1)
    return midnight - clock() + dt.timedelta(seconds=rng.choice([0, 1, 59, 3600]))


def generate(seed: int, count: int, *, moving: bool) -> list[tuple[Op, str]]:
    """Draw and run `count` writes, with an incremental run after every 1–8 of them (`moving`:
    and the clock moving forward); returns the log (each operation with how it went)."""
    rng = random.Random(seed)
    world = World(rng)
    log: list[tuple[Op, str]] = []
    if moving:
        start = Op("tick", {"to": NOW - dt.timedelta(days=9)})
        log.append((start, execute(start)))
    until_run = rng.randint(1, 8)
    for _ in range(count):
        op = world.draw()
        log.append((op, execute(op)))
        if moving and rng.random() < 0.3:
            tick = Op("tick", {"to": min(clock() + _step(rng), NOW + dt.timedelta(days=3))})
            log.append((tick, execute(tick)))
        until_run -= 1
        if until_run == 0:
            # The nightly task, whole or fanned out in chunks of reps (as past
            # KPI_RECOMPUTE_CHUNK_REPS): chunks' cells first, then the periods of all of them.
            nightly = Op("recompute")
            if rng.random() < 0.25:
                chunks = {"chunks": rng.randint(2, 3), "seed": rng.random()}
                nightly = Op("recompute_chunked", chunks)
            log.append((nightly, execute(nightly)))
            until_run = rng.randint(1, 8)
    return log


# ---------------------------------------------------------------------------
# Stored state and comparing it
# ---------------------------------------------------------------------------
def _rows(model: type, key: tuple[str, ...]) -> dict[tuple, tuple]:
    fields = [
        f.attname
        for f in model._meta.concrete_fields
        if f.attname not in ("id", "computed_at") and f.attname not in key
    ]
    return {
        (model.__name__, *row[: len(key)]): tuple(row[len(key) :])
        for row in model.objects.values_list(*key, *fields)
    }


def snapshot() -> dict[tuple, tuple]:
    """Every stored KPI table, keyed by table and natural key (ids and `computed_at` left out)."""
    return {
        **_rows(KPIValue, ("scope", "scope_id", "kpi", "period", "period_start", "dimension")),
        **_rows(RepDay, ("rep_id", "day")),
        **_rows(RepDayDimension, ("rep_id", "day", "counter", "dimension")),
        **_rows(RepPeriod, ("rep_id", "period", "period_start")),
        **_rows(RepPeriodDimension, ("rep_id", "period", "period_start", "counter", "dimension")),
        **_rows(CallDay, ("rep_id", "day", "company_id")),
        **_rows(CallTeam, ("rep_id",)),
    }


def diff(incremental: dict, full: dict) -> dict[tuple, str]:
    """The keys whose rows differ, each with a readable line."""
    return {
        key: f"{key}: incremental {_short(key, a)} != full {_short(key, b)}"
        for key in sorted(set(incremental) | set(full), key=repr)
        if (a := incremental.get(key, "—")) != (b := full.get(key, "—"))
    }


def show(differences: dict[tuple, str], limit: int = 30) -> list[str]:
    lines = list(differences.values())[:limit]
    if len(differences) > limit:
        lines.append(f"… and {len(differences) - limit} more")
    return lines


def _short(key: tuple, values: Any) -> Any:
    """RepDay and RepPeriod rows: only the non-zero counters, by name."""
    if key[0] in ("RepDay", "RepPeriod") and isinstance(values, tuple):
        return {n: v for n, v in zip(COUNTER_FIELDS, values, strict=True) if v}
    return values


def replay(ops: list[Op]) -> dict[tuple, str]:
    """Run `ops` then a last incremental run; the differences from a full run (rolled back)."""
    CLOCK[0] = NOW
    with transaction.atomic():
        for op in ops:
            execute(op)
        execute(Op("recompute"))
        incremental = snapshot()
        recompute_full(now=clock())
        differences = diff(incremental, snapshot())
        transaction.set_rollback(True)
    return differences


def shrink(ops: list[Op], keys: set[tuple]) -> list[Op]:
    """Delta debugging (ddmin): a smallest-by-deletion subsequence of `ops` after which one of
    `keys` (the original failure's) still differs."""
    n = 2
    while len(ops) >= 2:
        size = len(ops) // n
        chunks = [ops[i : i + size] for i in range(0, len(ops), size)]
        for i in range(len(chunks)):
            rest = [op for j, chunk in enumerate(chunks) if j != i for op in chunk]
            if keys & replay(rest).keys():
                ops, n = rest, max(n - 1, 2)
                break
        else:
            if n >= len(ops):
                break
            n = min(n * 2, len(ops))
    return ops


# ---------------------------------------------------------------------------
# The world and the test
# ---------------------------------------------------------------------------
@pytest.fixture
def world(monkeypatch):
    # The services read the clock (default moments, "not in the future", spans up to today).
    CLOCK[0] = NOW
    monkeypatch.setattr(timezone, "now", clock)
    if not EDGES:
        EDGES.extend(_edges())
    teams = {name: TeamFactory(name=name) for name in ("A", "B")}
    users = {}
    for username, (role, team) in USERS.items():
        factory = ManagerFactory if role == "manager" else UserFactory
        users[username] = factory(username=username, role=role, team=teams[team])
    for name, owner in COMPANIES.items():
        company = pipeline.company_save(company=Company(name=name, owner=users[owner]))
        for i, decision_maker in enumerate((False, True)):
            pipeline.contact_save(
                contact=Contact(
                    company=company, name=f"{name}-k{i}", is_decision_maker=decision_maker
                )
            )
    return users


CASES = [
    *(pytest.param("fixed", s, id=f"now-{s}") for s in range(FIRST_SEED, FIRST_SEED + SEEDS)),
    *(
        pytest.param("moving", s, id=f"moving-{s}")
        for s in range(FIRST_SEED, FIRST_SEED + MOVING_SEEDS)
    ),
]


@pytest.mark.parametrize(("clock_mode", "seed"), CASES)
def test_incremental_runs_equal_a_full_run_after_random_writes(world, clock_mode, seed):
    # In a savepoint, so that a shrink can replay from the world as the fixture left it.
    with transaction.atomic():
        log = generate(seed, OPERATIONS, moving=clock_mode == "moving")
        recompute(now=clock())
        incremental = snapshot()
        recompute_full(now=clock())
        differences = diff(incremental, snapshot())
        transaction.set_rollback(True)
    if not differences:
        return
    report = [f"seed {seed} ({clock_mode} clock): incremental runs differ from a full run"]
    report += show(differences)
    report += ["", "log:", *(f"  {i:3} {op} -> {outcome}" for i, (op, outcome) in enumerate(log))]
    if SHRINK:
        smallest = shrink([op for op, outcome in log if outcome == "ok"], set(differences))
        report += ["", "shrunk:", *(f"  {op}" for op in smallest), "", *show(replay(smallest))]
    pytest.fail("\n".join(report), pytrace=False)
