"""Demo data: a believable Swedish B2B sales organisation, generated in bulk and deterministically.

Everything comes from `random.Random(seed)` and `today`: the same pair gives the same rows. Rows are
written with `bulk_create` in one transaction (the per-row services would take minutes), so this
module sets every derived field the services set — local days, `closed_at`, a complete stage
history — and keeps their invariants. History ends at the start of `today` (site time); only
planned activities lie ahead, in the next two weeks. Every generated row is marked as demo data:
users by a `demo-` username, everything else by a `demo-` external id.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import math
import random
from collections import Counter, defaultdict
from decimal import Decimal

import holidays
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from activities.models import Activity
from people.models import Team, User
from pipeline.models import (
    Company,
    Contact,
    Direction,
    Lead,
    LeadSource,
    Opportunity,
    RepCost,
    Stage,
    StageChange,
)
from saljsite.timeutils import local_day

DEMO_PREFIX = "demo-"
DEMO_PASSWORD = "saljsite-demo"  # noqa: S105 - published on purpose: it is the demo's login.
DEMO_EMAIL_DOMAIN = "demo.saljsite.se"
DEMO_LOGINS = ("demo-sdr", "demo-ae", "demo-am", "demo-manager", "demo-admin")
BATCH_SIZE = 2000
HISTORY_DAYS = 365
PLANNED_DAYS = 14
BASE_REPS = 24  # headcount at scale 1; volumes follow `scale`, not the rounding of headcount
TEAM_ROLES = (("sdr", 3), ("ae", 3), ("am", 2))
UTC = dt.UTC


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FIRST_NAMES = _words(
    "Anna Erik Maria Lars Karin Anders Sara Johan Emma Per Elin Mikael Johanna Fredrik Linnea "
    "Henrik Ida Magnus Hanna Daniel Sofia Jonas Maja Oskar Frida Gustav Klara Viktor Ebba Axel "
    "Alva Filip Lina Niklas Malin Patrik Tove Andreas Matilda Simon"
)
LAST_NAMES = _words(
    "Andersson Johansson Karlsson Nilsson Eriksson Larsson Olsson Persson Svensson Gustafsson "
    "Pettersson Jonsson Jansson Hansson Bengtsson Jönsson Lindberg Jakobsson Magnusson Lindström "
    "Olofsson Lindqvist Lindgren Berg Axelsson Bergström Lundberg Lind Lundgren Lundqvist Mattsson "
    "Berglund Fredriksson Sandberg Henriksson Forsberg Sjöberg Wallin Engström Danielsson "
    "Håkansson Eklund Lundin Gunnarsson Holm Björk Nyström Sundberg Åberg Hedlund"
)
TEAM_CITIES = _words(
    "Stockholm Göteborg Malmö Uppsala Linköping Örebro Västerås Umeå Jönköping Lund Sundsvall "
    "Karlstad"
)
CO_HEADS = _words(
    "Norr Syd Väst Öst Berg Sjö Skog Fjäll Dal Ek Björk Gran Lind Sten Vik Ström Holm Ås Kvarn "
    "Hamn Bro Älv Ljung Tall Fors Mal Nord Sol Gull Järn"
)
CO_TAILS = _words(
    "bygg tech data logistik frakt el plast trä mekanik konsult media vård invest fastigheter "
    "energi system verkstad industri handel gruppen"
)
CO_SUFFIXES = ("AB", "AB", "AB", "Sverige AB", "Nordic AB", "& Partner AB", "Holding AB")
DECISION_MAKER_TITLES = _words(
    "VD CFO Ekonomichef Inköpschef Försäljningschef IT-chef COO CTO Marknadschef Affärsområdeschef"
)
TITLES = _words(
    "Inköpare Projektledare IT-ansvarig Controller Kontorschef Produktchef Systemförvaltare "
    "Ekonomiassistent Marknadskoordinator Driftansvarig Kvalitetsansvarig HR-specialist"
)
PRODUCTS = ("Licensavtal", "Plattform", "Implementering", "Supportavtal", "Pilotprojekt")
LOST_REASONS = (
    "Valde en konkurrent",
    "För dyrt",
    "Ingen budget i år",
    "Projektet lades ned",
    "Fel tidpunkt",
    "Slutade svara",
    "Stannar hos befintlig leverantör",
)
SUBJECTS = {
    "call": ("Uppföljningssamtal", "Kvalificeringssamtal", "Avstämning", "Kallsamtal"),
    "email": ("Uppföljning", "Offert", "Kort fråga", "Inbjudan till webbinar", "Tack för mötet"),
    "meeting": ("Introduktionsmöte", "Behovsanalys", "Avtalsgenomgång", "Kvartalsmöte"),
    "demo": ("Demo av plattformen", "Utvärdering på plats", "Teknisk genomgång"),
    "lunch": ("Lunch", "Kundlunch"),
}
LEAD_SOURCES = {  # source: (share, chance that a responded lead becomes an opportunity)
    LeadSource.WEBSITE: (30, 0.22),
    LeadSource.OUTBOUND: (25, 0.14),
    LeadSource.REFERRAL: (10, 0.38),
    LeadSource.EVENT: (12, 0.20),
    LeadSource.PARTNER: (8, 0.30),
    LeadSource.ADVERTISING: (10, 0.14),
    LeadSource.OTHER: (5, 0.16),
}
# Chance to advance past each open stage (the last step is the win), by opportunity kind.
ADVANCE = {"new_business": 0.66, "upsell": 0.74, "renewal": 0.92}
AMOUNT_MEDIAN = {"new_business": 160_000, "upsell": 70_000, "renewal": 120_000}
DWELL_DAYS = (6, 10, 12, 9)  # median working days in each open stage, in order
# Background activities per working day at full intensity, by role.
DAILY = {
    "sdr": {"call": 10.0, "email": 3.0},
    "ae": {"call": 2.2, "email": 2.0, "meeting": 0.45, "demo": 0.12},
    "am": {"call": 2.2, "email": 2.0, "meeting": 0.5, "lunch": 0.25},
}
PLANNED_DAILY = {
    "sdr": {"call": 1.5, "email": 0.5},
    "ae": {"call": 0.6, "meeting": 0.5, "demo": 0.15},
    "am": {"call": 0.6, "meeting": 0.5, "lunch": 0.25},
}
CONNECT_RATE = {"sdr": 0.33, "ae": 0.45, "am": 0.5}
REPLY_RATE = {"sdr": 0.1, "ae": 0.25, "am": 0.3}
SALARY = {"sdr": 34_000, "ae": 48_000, "am": 46_000}


class DemoDataError(Exception):
    """The database is not empty, so demo data is not loaded."""


class DemoDataPresent(DemoDataError):
    """Demo data is already loaded (and nothing else)."""


class NonDemoDataPresent(DemoDataError):
    """The database holds data that is not demo data: seeding would mix the two."""


@dataclasses.dataclass(frozen=True)
class DemoSummary:
    teams: int
    users: int
    companies: int
    contacts: int
    leads: int
    opportunities: int
    won: int
    lost: int
    open: int
    stage_changes: int
    activities: int
    activities_by_kind: dict[str, int]
    activities_by_status: dict[str, int]
    rep_costs: int
    revenue_won: Decimal

    def lines(self) -> list[str]:
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(self.activities_by_kind.items()))
        statuses = ", ".join(f"{k} {n}" for k, n in sorted(self.activities_by_status.items()))
        return [
            f"  {self.teams} teams, {self.users} users, {self.companies} companies, "
            f"{self.contacts} contacts, {self.leads} leads",
            f"  {self.opportunities} opportunities ({self.won} won, {self.lost} lost, "
            f"{self.open} open; {self.revenue_won:,.0f} SEK won), "
            f"{self.stage_changes} stage changes",
            f"  {self.activities} activities ({kinds}; {statuses})",
            f"  {self.rep_costs} rep costs",
        ]


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


def org_number(rng: random.Random) -> str:
    """A valid Swedish organisation number of an aktiebolag (556…/559…): Luhn check digit last."""
    digits = [5, 5, rng.choice((6, 9))] + [rng.randrange(10) for _ in range(6)]
    total = sum(sum(divmod(d * (2 - i % 2), 10)) for i, d in enumerate(digits))
    digits.append((10 - total % 10) % 10)
    text = "".join(map(str, digits))
    return f"{text[:6]}-{text[6:]}"


def _ascii(text: str) -> str:
    return text.lower().translate(str.maketrans("åäöé", "aaoe")).replace(" ", "")


@dataclasses.dataclass(eq=False)
class _Rep:
    user: User
    role: str
    team: int
    skill: float = 1.0


@dataclasses.dataclass(eq=False)
class _Co:
    company: Company
    team: int
    owner: _Rep
    contacts: list[Contact]
    customer_since: dt.datetime | None = None  # first won deal's close (a customer from then on)

    def is_customer(self, at: dt.datetime) -> bool:
        return self.customer_since is not None and self.customer_since < at


@dataclasses.dataclass(eq=False)
class _Seed:
    """An opportunity to be: who creates it, when, on what; its fate is simulated later."""

    at: dt.datetime
    creator: _Rep
    owner: _Rep
    co: _Co | None  # None: an upsell whose account is picked when it is created
    kind: str
    source: str
    channel: str
    contact: Contact | None = None
    lead: Lead | None = None
    amount: int | None = None


class _Builder:
    def __init__(self, *, seed: int, scale: float, today: dt.date) -> None:
        self.rng = random.Random(seed)
        self.scale = scale
        self.today = today
        self.tz = timezone.get_default_timezone()
        # History ends at the start of today (site time): only planned activities lie beyond.
        self.cutoff = dt.datetime.combine(today, dt.time(), tzinfo=self.tz).astimezone(UTC)
        self.start = today - dt.timedelta(days=HISTORY_DAYS)
        country = settings.SALJSITE_HOLIDAY_COUNTRY
        # Days off de facto (Midsummer Eve, Christmas Eve…) where the calendar knows them.
        categories = {"public", "de_facto"} & set(
            holidays.country_holidays(country).supported_categories
        )
        off = holidays.country_holidays(
            country, years=range(today.year - 3, today.year + 2), categories=sorted(categories)
        )
        first = today - dt.timedelta(days=HISTORY_DAYS * 2 + 60)
        self.workdays = [
            d
            for n in range((today - first).days + 60)
            if (d := first + dt.timedelta(days=n)).weekday() < 5 and d not in off
        ]
        self.workday_set = set(self.workdays)
        self.history_days = [d for d in self.workdays if self.start <= d < today]
        self.planned_days = [
            d for d in self.workdays if today <= d <= today + dt.timedelta(days=PLANNED_DAYS)
        ]
        self.teams: list[Team] = []
        self.users: list[User] = []
        self.reps: list[_Rep] = []
        self.managers: list[User] = []
        self.cos: list[_Co] = []
        self.leads: list[Lead] = []
        self.opportunities: list[Opportunity] = []
        self.stage_changes: list[StageChange] = []
        # Activities with the rows they link to: owner, booked by, company, contact, lead, deal.
        self.activities: list[tuple[Activity, tuple]] = []
        self.costs: list[RepCost] = []
        self.bookings: Counter[tuple[_Rep, dt.date]] = Counter()  # (SDR, month) → bookings
        self.revenue: Counter[tuple[_Rep, dt.date]] = Counter()  # (rep, month) → SEK won
        stages = list(Stage.objects.order_by("order"))
        self.open_stages = [s for s in stages if s.is_open]
        self.won_stage = next(s for s in stages if s.outcome == Stage.Outcome.WON)
        self.lost_stage = next(s for s in stages if s.outcome == Stage.Outcome.LOST)

    # -- time ---------------------------------------------------------------------------------
    def _at(self, day: dt.date, minute: int) -> dt.datetime:
        """`minute` past local midnight of `day` (06:00–23:59 keeps clear of DST), as UTC."""
        local = dt.datetime.combine(day, dt.time(minute // 60, minute % 60), tzinfo=self.tz)
        return (local + dt.timedelta(seconds=self.rng.randrange(60))).astimezone(UTC)

    def _office(self, day: dt.date) -> dt.datetime:
        """A moment in office hours; a few early or late."""
        if self.rng.random() < 0.06:
            return self._at(day, self.rng.randrange(7 * 60, 19 * 60))
        return self._at(day, self.rng.randrange(8 * 60, 17 * 60))

    def _workday(self, day: dt.date, offset: int = 0) -> dt.date:
        """The first working day on or after `day`, then `offset` working days later."""
        return self.workdays[bisect.bisect_left(self.workdays, day) + offset]

    def _after(self, moment: dt.datetime, days: float) -> dt.datetime:
        """Office hours on the working day about `days` after `moment`, strictly after it."""
        day = local_day(moment) + dt.timedelta(days=max(0, round(days)))
        if day > self.today + dt.timedelta(days=30):  # past the planned horizon: never used
            return self._at(day, 9 * 60)
        day = self._workday(day)
        at = self._office(day)
        return at if at > moment else self._office(self._workday(day, 1))

    def _between(self, start: dt.datetime, end: dt.datetime) -> dt.datetime:
        """A moment strictly between `start` and `end`, in office hours when possible."""
        lo = bisect.bisect_left(self.workdays, local_day(start))
        hi = bisect.bisect_right(self.workdays, local_day(end))
        if hi > lo:
            at = self._office(self.workdays[self.rng.randrange(lo, hi)])
            if start < at < end:
                return at
        return start + (end - start) * self.rng.uniform(0.05, 0.95)

    def _season(self, day: dt.date) -> float:
        """Swedish summer and Christmas are quiet; Fridays a little."""
        if day.month == 7 or (day.month == 8 and day.day <= 7):
            return 0.35
        if (day.month == 12 and day.day >= 20) or (day.month == 1 and day.day <= 6):
            return 0.55
        if (day.month == 6 and day.day >= 22) or (day.month == 8 and day.day <= 14):
            return 0.75
        return 0.85 if day.weekday() == 4 else 1.0

    def _poisson(self, lam: float) -> int:
        limit, k, p = math.exp(-lam), 0, self.rng.random()
        while p > limit:
            k += 1
            p *= self.rng.random()
        return k

    def _history_moments(self, n: int) -> list[dt.datetime]:
        days = self.rng.choices(self.history_days, cum_weights=self._season_cum, k=n)
        return sorted(self._office(day) for day in days)

    # -- build --------------------------------------------------------------------------------
    def build(self) -> None:
        self._season_cum = list(_accumulate(self._season(d) for d in self.history_days))
        self._org()
        self._companies()
        seeds = self._legacy_and_renewals()
        seeds += self._leads()
        seeds += self._self_sourced()
        for seed in sorted(seeds, key=lambda s: s.at):  # stable: ties keep creation order
            self._opportunity(seed)
        self._background()
        self._rep_costs()

    def _org(self) -> None:
        rng = self.rng
        n_teams = max(1, int(3 * self.scale + 0.5))
        headcount = {r: max(1, int(n * self.scale * 3 / n_teams + 0.5)) for r, n in TEAM_ROLES}
        people = n_teams * (sum(headcount.values()) + 1) + 1
        combinations = len(FIRST_NAMES) * len(LAST_NAMES)
        pairs = rng.sample(range(combinations), min(people, combinations))
        names = [divmod(pairs[i % len(pairs)], len(LAST_NAMES)) for i in range(people)]
        password = make_password(DEMO_PASSWORD)  # hashed once: a hash per user is seconds
        taken: set[str] = set()

        def user(role: str, team: Team | None, login: str | None = None, **extra) -> User:
            first_index, last_index = names[len(self.users)]
            first, last = FIRST_NAMES[first_index], LAST_NAMES[last_index]
            if login is None:
                login = base = f"{DEMO_PREFIX}{_ascii(first)}.{_ascii(last)}"
                while login in taken:
                    login = f"{base}{len(taken)}"
            taken.add(login)
            joined = self._at(self.start - dt.timedelta(days=rng.randrange(30, 1500)), 9 * 60)
            u = User(
                username=login,
                first_name=first,
                last_name=last,
                email=f"{login.removeprefix(DEMO_PREFIX)}@{DEMO_EMAIL_DOMAIN}",
                role=role,
                team=team,
                password=password,
                date_joined=joined,
                **extra,
            )
            self.users.append(u)
            return u

        for t in range(n_teams):
            city = TEAM_CITIES[t] if t < len(TEAM_CITIES) else f"{t + 1}"
            self.teams.append(Team(name=f"Team {city}"))
        for t, team in enumerate(self.teams):
            login = "demo-manager" if t == 0 else None
            self.managers.append(user("manager", team, login, is_staff=True))
            for role, _n in TEAM_ROLES:
                for i in range(headcount[role]):
                    login = f"demo-{role}" if t == 0 and i == 0 else None
                    skill = rng.uniform(0.75, 1.25)  # how busy and how good
                    rep = _Rep(user(role, team, login), role, t, 1.05 if login else skill)
                    self.reps.append(rep)
        user("manager", None, "demo-admin", is_staff=True, is_superuser=True)
        self.users[-1].first_name, self.users[-1].last_name = "Demo", "Admin"
        # Volumes follow the scale; the headcount is rounded, so each rep's intensity absorbs it.
        self.intensity = self.scale * BASE_REPS / len(self.reps)
        self.by_team_role: dict[tuple[int, str], list[_Rep]] = defaultdict(list)
        for rep in self.reps:
            self.by_team_role[rep.team, rep.role].append(rep)

    def _companies(self) -> None:
        rng = self.rng
        n_teams = len(self.teams)
        names: set[str] = set()
        numbers: set[str] = set()
        self.team_cos: dict[int, list[_Co]] = defaultdict(list)
        self.accounts: dict[_Rep, list[_Co]] = defaultdict(list)  # an AM's companies
        self.prospects: dict[int, list[_Co]] = defaultdict(list)  # no deal before the year
        names_left: list[int] = []  # contacts' names, each used once before any repeats
        for i in range(max(6 * n_teams, int(450 * self.scale + 0.5))):
            name = ""
            for attempt in range(50):
                head, tail = rng.choice(CO_HEADS), rng.choice(CO_TAILS)
                name = f"{head}{tail} {rng.choice(CO_SUFFIXES)}"
                if attempt > 20:
                    name = f"{head}{tail} {rng.choice(TEAM_CITIES)} AB"
                if name not in names:
                    break
            else:
                name = f"{name} ({i})"
            names.add(name)
            while (number := org_number(rng)) in numbers:
                pass
            numbers.add(number)
            team = i % n_teams
            owners = self.by_team_role[team, "am"]
            owner = owners[(i // n_teams) % len(owners)]
            company = Company(
                name=name,
                org_number=number,
                owner=owner.user,
                external_id=f"demo-co-{i + 1:05d}",
                created_at=self._at(self.start - dt.timedelta(days=rng.randrange(400, 1500)), 600),
            )
            domain = _ascii(name.split(" ")[0]) + ".se"
            contacts = []
            for _ in range(rng.randint(2, 4)):
                if not names_left:
                    names_left = list(range(len(FIRST_NAMES) * len(LAST_NAMES)))
                    rng.shuffle(names_left)
                first_index, last_index = divmod(names_left.pop(), len(LAST_NAMES))
                first, last = FIRST_NAMES[first_index], LAST_NAMES[last_index]
                dm = rng.random() < 0.2
                contacts.append(
                    Contact(
                        company=company,
                        name=f"{first} {last}",
                        title=rng.choice(DECISION_MAKER_TITLES if dm else TITLES),
                        email=f"{_ascii(first)}.{_ascii(last)}@{domain}",
                        phone=f"+46 70 {rng.randrange(100, 1000)} {rng.randrange(10, 100)} "
                        f"{rng.randrange(10, 100)}",
                        is_decision_maker=dm,
                    )
                )
            co = _Co(company, team, owner, contacts)
            self.cos.append(co)
            self.team_cos[team].append(co)
            self.accounts[owner].append(co)

    def _legacy_and_renewals(self) -> list[_Seed]:
        """About a third of the companies bought 12–24 months ago; most renew within the year."""
        rng, seeds = self.rng, []
        for co in self.cos:
            if rng.random() >= 0.35:
                self.prospects[co.team].append(co)
                continue
            owner = rng.choice(self.by_team_role[co.team, "ae"] + [co.owner])
            day = self._workday(self.start - dt.timedelta(days=rng.randrange(90, 330)))
            amount = self._amount("new_business")
            source = rng.choice(("referral", "website", "event", "partner", "outbound"))
            legacy = _Seed(self._office(day), owner, owner, co, "new_business", source, "field")
            closed = self._opportunity(legacy, amount=amount, force_win=True)
            renew_at = self._after(closed, 365 - rng.randrange(20, 45))
            if self.start <= local_day(renew_at) and renew_at < self.cutoff and rng.random() < 0.9:
                renewal = _Seed(renew_at, co.owner, co.owner, co, "renewal", "other", "field")
                renewal.contact = rng.choice(co.contacts)
                renewal.amount = min(2_000_000, int(amount * rng.uniform(0.9, 1.25) / 1000) * 1000)
                seeds.append(renewal)
        for am in (r for r in self.reps if r.role == "am"):
            for at in self._history_moments(self._poisson(14 * self.intensity * am.skill)):
                channel = "field" if rng.random() < 0.7 else "inside"
                seeds.append(_Seed(at, am, am, None, "upsell", "other", channel))
        return seeds

    def _leads(self) -> list[_Seed]:
        """Leads over the year, mostly to SDRs; most answered within minutes to days, some never."""
        rng, seeds = self.rng, []
        sources = list(LEAD_SOURCES)
        shares = [LEAD_SOURCES[s][0] for s in sources]
        n = int(1300 * self.scale + 0.5)
        days = self.rng.choices(self.history_days, cum_weights=self._season_cum, k=n)
        for i, day in enumerate(days):
            role = rng.choices(("sdr", "ae", "am"), (85, 10, 5))[0]
            rep = rng.choice(self.by_team_role[rng.randrange(len(self.teams)), role])
            source = rng.choices(sources, shares)[0]
            direction = Direction.OUTBOUND if source == LeadSource.OUTBOUND else Direction.INBOUND
            if direction == Direction.INBOUND and rng.random() < 0.25:  # evenings and weekends
                day = max(self.start, day - dt.timedelta(days=rng.randrange(3)))
                received = self._at(day, rng.randrange(6 * 60, 24 * 60))
            else:
                received = self._office(day)
            if role == "am":  # an account asking for more
                pool = [c for c in self.accounts[rep] if c.is_customer(received)]
                pool = pool or self.accounts[rep]
            else:
                pool = self.prospects[rep.team] or self.team_cos[rep.team]
            co = rng.choice(pool)
            contact = rng.choice(co.contacts)
            lead = Lead(
                name=f"{co.company.name} – {contact.name}",
                source=source,
                direction=direction,
                received_at=received,
                received_day=local_day(received),
                assigned_to=rep.user,
                company=co.company,
                contact=contact,
                status=Lead.Status.NEW,
                external_id=f"demo-lead-{i + 1:05d}",
            )
            self.leads.append(lead)
            answered = 0.97 if direction == Direction.OUTBOUND else 0.9
            if rng.random() > answered * (0.9 + 0.1 * rep.skill):
                continue
            response = self._response_time(received, direction)
            if response >= self.cutoff:
                continue
            kind = "call" if rng.random() < 0.65 else "email"
            self._activity(rep, kind, response, co, contact, lead=lead)
            last = response
            for _ in range(rng.choice((0, 1, 1, 2, 2, 3))):
                last = self._after(last, rng.uniform(1, 8))
                if last >= self.cutoff:
                    break
                self._activity(rep, rng.choice(("call", "email")), last, co, contact, lead=lead)
            converts = LEAD_SOURCES[source][1] * rep.skill
            created = self._after(response, rng.uniform(0, 10))
            if rng.random() < converts and created < self.cutoff:
                lead.status = Lead.Status.CONVERTED
                owner = rng.choice(self.by_team_role[rep.team, "ae"]) if role == "sdr" else rep
                channel = "inside" if role == "sdr" and rng.random() < 0.7 else "field"
                kind = "upsell" if role == "am" else "new_business"
                seeds.append(_Seed(created, rep, owner, co, kind, source, channel, contact, lead))
            else:
                statuses = ("contacted", "qualified", "disqualified")
                lead.status = rng.choices(statuses, (45, 15, 40))[0]
        return seeds

    def _response_time(self, received: dt.datetime, direction: str) -> dt.datetime:
        rng = self.rng
        local = received.astimezone(self.tz)
        in_hours = local.date() in self.workday_set and 8 <= local.hour < 17
        quick = 0.6 if direction == Direction.OUTBOUND else 0.85  # outbound: on the call list
        if in_hours and rng.random() < quick:
            median = 90 if direction == Direction.OUTBOUND else 25
            response = received + dt.timedelta(minutes=rng.lognormvariate(math.log(median), 1.1))
            answered = response.astimezone(self.tz)
            if answered.date() == local.date() and answered.hour < 18:
                return response
        return self._after(received, rng.choice((0, 1, 1, 1, 2, 4)))

    def _self_sourced(self) -> list[_Seed]:
        """AEs open new business of their own, mostly on prospects of their team."""
        rng, seeds = self.rng, []
        for ae in (r for r in self.reps if r.role == "ae"):
            for at in self._history_moments(self._poisson(22 * self.intensity * ae.skill)):
                pool = self.prospects[ae.team] if rng.random() < 0.8 else []
                co = rng.choice(pool or self.team_cos[ae.team])
                sources = ("outbound", "referral", "event", "partner", "other")
                source = rng.choices(sources, (40, 20, 20, 10, 10))[0]
                channel = "partner" if source == "partner" else rng.choice(("field", "inside"))
                seeds.append(_Seed(at, ae, ae, co, "new_business", source, channel))
        return seeds

    def _amount(self, kind: str) -> int:
        amount = self.rng.lognormvariate(math.log(AMOUNT_MEDIAN[kind]), 0.8)
        return int(min(2_000_000, max(20_000, amount)) / 1000) * 1000

    def _opportunity(
        self, seed: _Seed, *, amount: int | None = None, force_win: bool = False
    ) -> dt.datetime:
        """Open one opportunity and walk it through the stages up to today; its last move's time."""
        rng = self.rng
        co, kind = seed.co, seed.kind
        if co is None:  # an upsell: one of the AM's accounts that is a customer by now
            customers = [c for c in self.accounts[seed.owner] if c.is_customer(seed.at)]
            if not customers:
                return seed.at
            co = rng.choice(customers)
        elif kind == "new_business" and co.is_customer(seed.at):
            kind = "upsell"
        contact = seed.contact or rng.choice(
            [c for c in co.contacts if c.is_decision_maker] or co.contacts
        )
        amount = amount or seed.amount or self._amount(kind)
        n = len(self.opportunities) + 1
        product = "Förnyelse" if kind == "renewal" else rng.choice(PRODUCTS)
        opp = Opportunity(
            name=f"{co.company.name} – {product} {seed.at.astimezone(self.tz).year}",
            company=co.company,
            owner=seed.owner.user,
            created_by=seed.creator.user,
            kind=kind,
            lead_source=seed.source,
            channel=seed.channel,
            amount=Decimal(amount),
            lead=seed.lead,
            contact=contact,
            created_at=seed.at,
            created_day=local_day(seed.at),
            external_id=f"demo-opp-{n:05d}",
        )
        self.opportunities.append(opp)
        moves: list[tuple[Stage, dt.datetime]] = [(self.open_stages[0], seed.at)]
        p = 1.0 if force_win else ADVANCE[kind] * (0.8 + 0.2 * seed.owner.skill)
        stall = 1 if force_win or rng.random() > 0.08 else 4
        index, went_back, reopened = 0, force_win, force_win
        while True:
            stage, at = moves[-1]
            median = DWELL_DAYS[min(index, len(DWELL_DAYS) - 1)] * stall * 7 / 5
            at = self._after(at, rng.lognormvariate(math.log(median), 0.6))
            if at >= self.cutoff:
                break
            if stage.is_closed:  # a lost deal that came back
                index = rng.randrange(min(1, len(self.open_stages) - 1), len(self.open_stages))
                moves.append((self.open_stages[index], at))
                reopened = True
            elif index >= 2 and not went_back and rng.random() < 0.05:
                index -= 1
                moves.append((self.open_stages[index], at))
                went_back = True
            elif rng.random() < p:
                index += 1
                won = index == len(self.open_stages)
                moves.append((self.won_stage if won else self.open_stages[index], at))
                if won:
                    break
            else:
                moves.append((self.lost_stage, at))
                if reopened or rng.random() > 0.06:
                    break
        last_stage, last_at = moves[-1]
        if last_stage.is_closed:
            opp.closed_at, opp.closed_day = last_at, local_day(last_at)
        if last_stage == self.lost_stage:
            opp.lost_reason = rng.choice(LOST_REASONS)
        elif last_stage == self.won_stage:
            if co.customer_since is None or last_at < co.customer_since:
                co.customer_since = last_at
            self.revenue[seed.owner, local_day(last_at).replace(day=1)] += amount
        opp.stage = last_stage
        previous = None
        for stage, at in moves:
            self.stage_changes.append(
                StageChange(
                    opportunity=opp,
                    from_stage=previous,
                    to_stage=stage,
                    owner=opp.owner,
                    changed_by=seed.creator.user if previous is None else opp.owner,
                    changed_at=at,
                    changed_day=local_day(at),
                )
            )
            previous = stage
        if not force_win:
            self._opportunity_activities(seed, opp, co, contact, moves)
        return last_at

    def _opportunity_activities(self, seed, opp, co, contact, moves) -> None:
        """The meetings, demos, calls and emails behind each stage move, and the next step."""
        rng, owner = self.rng, seed.owner
        for (stage, start), (to, at) in zip(moves, moves[1:] + [(None, self.cutoff)], strict=True):
            if stage.is_closed and to is None:
                break  # nothing more on a closed deal
            for _ in range(self._poisson(1.2)):
                kind = "email" if rng.random() < 0.6 else "call"
                self._activity(owner, kind, self._between(start, at), co, contact, opp=opp)
            if to is None or at - start < dt.timedelta(hours=4):
                continue
            held = at - dt.timedelta(minutes=rng.randrange(30, 180))
            forward = to.is_open and to.order > stage.order
            step = self.open_stages.index(to) if to.is_open else None
            if forward and step == 1:  # the first meeting, booked by the SDR who found the deal
                booker = seed.creator if seed.creator.role == "sdr" else owner
                booking = (booker, self._between(start, held - dt.timedelta(hours=1)))
                self._activity(owner, "meeting", held, co, contact, opp=opp, booker=booking)
            elif forward and rng.random() < 0.7:
                kind = "demo" if step == 2 else "meeting"
                self._activity(owner, kind, held, co, contact, opp=opp)
            else:
                kind = "call" if to != self.lost_stage else rng.choice(("call", "email"))
                self._activity(owner, kind, held, co, contact, opp=opp)
        stage, last = moves[-1]
        if stage.is_open and self.cutoff - last < dt.timedelta(days=45) and rng.random() < 0.75:
            when = self._office(rng.choice(self.planned_days))
            kind = ("meeting", "demo", "meeting", "call")[min(3, self.open_stages.index(stage))]
            booker = seed.creator if seed.creator.role == "sdr" else owner
            booked = self._between(max(last, self.cutoff - dt.timedelta(days=7)), self.cutoff)
            booking = None if kind == "call" else (booker, booked)
            self._activity(
                owner, kind, when, co, contact, opp=opp, status="planned", booker=booking
            )

    def _background(self) -> None:
        """Every rep's daily prospecting and account work, past and planned."""
        rng = self.rng
        for rep in self.reps:
            pool = {
                "sdr": self.prospects[rep.team] or self.team_cos[rep.team],
                "ae": self.team_cos[rep.team],
                "am": self.accounts[rep],
            }[rep.role]
            plan = [(d, DAILY[rep.role], "completed") for d in self.history_days] + [
                (d, PLANNED_DAILY[rep.role], "planned") for d in self.planned_days
            ]
            for day, rates, status in plan:
                factor = self._season(day) * rep.skill * self.intensity
                for kind, rate in rates.items():
                    for _ in range(self._poisson(rate * factor)):
                        co = rng.choice(pool)
                        contact = rng.choice(co.contacts) if rng.random() < 0.9 else None
                        at = self._office(day)
                        booker = None
                        if kind in ("meeting", "demo", "lunch") and rng.random() < 0.6:
                            booked = at - dt.timedelta(days=rng.uniform(1, 8))
                            booker = (rep, min(booked, self.cutoff - dt.timedelta(hours=2)))
                        act = self._activity(
                            rep, kind, at, co, contact, status=status, booker=booker
                        )
                        if rep.role == "sdr" and act.outcome == "connected":
                            self._sdr_booking(rep, co, contact, at)

    def _sdr_booking(self, sdr: _Rep, co: _Co, contact: Contact | None, call: dt.datetime) -> None:
        """A connected call sometimes ends with a meeting or demo booked for an AE of the team."""
        rng = self.rng
        if rng.random() > 0.14 * sdr.skill:
            return
        ae = rng.choice(self.by_team_role[sdr.team, "ae"])
        booked = call + dt.timedelta(minutes=rng.randrange(2, 15))
        day = self._workday(local_day(call), rng.randrange(2, 10))
        when = self._at(day, rng.randrange(9 * 60, 16 * 60))
        if booked >= self.cutoff or day > self.today + dt.timedelta(days=PLANNED_DAYS):
            return
        kind = "meeting" if rng.random() < 0.75 else "demo"
        status = "planned" if when >= self.cutoff else "completed"
        self._activity(ae, kind, when, co, contact, status=status, booker=(sdr, booked))

    def _activity(
        self,
        rep: _Rep,
        kind: str,
        at: dt.datetime,
        co: _Co,
        contact: Contact | None,
        *,
        lead: Lead | None = None,
        opp: Opportunity | None = None,
        status: str = "completed",
        booker: tuple[_Rep, dt.datetime] | None = None,
    ) -> Activity:
        """One activity; a past booking falls through now and then (unless a deal move needs it)."""
        rng = self.rng
        fields: dict = {"direction": "outbound"}
        if booker is not None and opp is None and status == "completed" and rng.random() < 0.08:
            status = "cancelled"
        if kind == "call":
            inbound = lead is None and opp is None and rng.random() < 0.06
            fields["direction"] = "inbound" if inbound else "outbound"
            if status == "completed":
                connected = inbound or rng.random() < CONNECT_RATE[rep.role]
                outcome = "connected" if connected else rng.choices(
                    ("no_answer", "busy", "voicemail"), (55, 15, 30)
                )[0]  # fmt: skip
                fields["outcome"] = outcome
                if connected:
                    seconds = rng.lognormvariate(math.log(170 if rep.role == "sdr" else 260), 0.8)
                    fields["duration_seconds"] = int(min(1200, max(30, seconds)))
        elif kind == "email" and status == "completed":
            if rng.random() < 0.05 and lead is None:
                fields["direction"] = "inbound"
            else:
                fields["replied"] = rng.random() < REPLY_RATE[rep.role]
                fields["clicked"] = rng.random() < 0.2
        elif kind in ("meeting", "demo"):
            physical = 0.55 if rep.role == "am" else (0.3 if kind == "demo" else 0.4)
            fields["mode"] = "physical" if rng.random() < physical else "digital"
        if booker is not None:
            fields["booked_at"] = booker[1]
            fields["booked_day"] = local_day(booker[1])
            if status != "cancelled" and booker[0].role == "sdr":
                self.bookings[booker[0], fields["booked_day"].replace(day=1)] += 1
        act = Activity(
            kind=kind,
            status=status,
            occurred_at=at,
            occurred_day=local_day(at),
            subject=rng.choice(SUBJECTS[kind]),
            **fields,
        )
        # Linked rows get their ids on insert; the links are set then (see `write`).
        booked_by = booker[0].user if booker is not None else None
        self.activities.append((act, (rep.user, booked_by, co.company, contact, lead, opp)))
        return act

    def _rep_costs(self) -> None:
        """A monthly salary for the last 12 months; a bonus in months with results."""
        rng = self.rng
        this_month = self.today.replace(day=1)
        months = [_add_months(this_month, -k) for k in range(11, -1, -1)]
        for rep in self.reps:
            salary = SALARY[rep.role] * rng.uniform(0.9, 1.15)
            for month in months:
                if month.month == 4:  # the yearly salary review
                    salary *= 1.03
                amount = Decimal(round(salary / 500) * 500)
                self.costs.append(RepCost(rep=rep.user, month=month, kind="salary", amount=amount))
                if month == this_month:
                    continue
                bonus = 0.03 * self.revenue[rep, month]
                bonus += 400 * max(0, self.bookings[rep, month] - 8)
                if bonus >= 100:
                    bonus = Decimal(round(bonus / 100) * 100)
                    self.costs.append(
                        RepCost(rep=rep.user, month=month, kind="bonus", amount=bonus)
                    )

    # -- write --------------------------------------------------------------------------------
    def write(self) -> None:
        Team.objects.bulk_create(self.teams)
        User.objects.bulk_create(self.users, batch_size=BATCH_SIZE)
        for team, manager in zip(self.teams, self.managers, strict=True):
            team.manager = manager
        Team.objects.bulk_update(self.teams, ["manager"])
        group, _created = Group.objects.get_or_create(name="Managers")
        Membership = User.groups.through
        Membership.objects.bulk_create(
            [Membership(user_id=m.pk, group_id=group.pk) for m in self.managers]
        )
        contacts = [c for co in self.cos for c in co.contacts]
        for n, contact in enumerate(contacts, 1):
            contact.external_id = f"demo-ct-{n:05d}"
        for model, rows in (
            (Company, [co.company for co in self.cos]),
            (Contact, contacts),
            (Lead, self.leads),
            (Opportunity, self.opportunities),
            (StageChange, self.stage_changes),
            (RepCost, self.costs),
        ):
            model.objects.bulk_create(rows, batch_size=BATCH_SIZE)
        # In time order, so ids and external ids follow the calendar as they would in real life.
        self.activities.sort(key=lambda row: row[0].occurred_at)
        for n, (act, links) in enumerate(self.activities, 1):
            owner, booked_by, company, contact, lead, opp = links
            act.external_id = f"demo-act-{n:06d}"
            act.owner_id = owner.pk
            act.booked_by_id = booked_by.pk if booked_by is not None else None
            act.company_id = company.pk
            act.contact_id = contact.pk if contact is not None else None
            act.lead_id = lead.pk if lead is not None else None
            act.opportunity_id = opp.pk if opp is not None else None
        Activity.objects.bulk_create(
            [act for act, _links in self.activities], batch_size=BATCH_SIZE
        )

    def summary(self) -> DemoSummary:
        outcomes = Counter(o.stage.outcome for o in self.opportunities)
        return DemoSummary(
            teams=len(self.teams),
            users=len(self.users),
            companies=len(self.cos),
            contacts=sum(len(co.contacts) for co in self.cos),
            leads=len(self.leads),
            opportunities=len(self.opportunities),
            won=outcomes["won"],
            lost=outcomes["lost"],
            open=outcomes["open"],
            stage_changes=len(self.stage_changes),
            activities=len(self.activities),
            activities_by_kind=dict(sorted(Counter(a.kind for a, _ in self.activities).items())),
            activities_by_status=dict(
                sorted(Counter(a.status for a, _ in self.activities).items())
            ),
            rep_costs=len(self.costs),
            revenue_won=sum(
                (o.amount for o in self.opportunities if o.stage.outcome == "won"), Decimal(0)
            ),
        )


def _accumulate(values):
    total = 0.0
    for value in values:
        total += value
        yield total


def _add_months(month: dt.date, n: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


# ---------------------------------------------------------------------------------------------
# Targets: what the sales managers of the demo expect of each role, so scorecards show
# attainment, status and pace. Calibrated on the demo's own numbers (seed 1): each is near the
# median rep's, so some reps meet it, some are close and some are behind.
# ---------------------------------------------------------------------------------------------
DEMO_TARGETS: dict[str, dict[str, dict[str, str]]] = {  # role → period → KPI → value
    "sdr": {
        "month": {
            "calls_made": "215", "calls_over_3_min": "33", "emails_sent": "68",
            "meetings_booked": "9", "meetings_booked_decision_makers": "2", "demos_booked": "3",
            "opportunities_created": "3", "email_reply_rate": "0.09",
            "lead_conversion_rate": "0.20",
        },
        "week": {
            "calls_made": "52", "calls_over_3_min": "7", "emails_sent": "17",
            "meetings_booked": "2", "demos_booked": "1", "email_reply_rate": "0.10",
        },
    },
    "ae": {
        "month": {
            "calls_made": "56", "emails_sent": "52", "meetings_held_physical": "9",
            "meetings_held_digital": "15", "demos_on_site": "2", "activities_total": "145",
            "stage_advances": "6", "deals_won": "1", "revenue_won": "100000", "win_rate": "0.20",
        },
        "week": {
            "calls_made": "13", "emails_sent": "12", "meetings_held_physical": "2",
            "meetings_held_digital": "3", "activities_total": "35", "stage_advances": "2",
        },
    },
    "am": {
        "month": {
            "calls_made": "52", "emails_sent": "50", "meetings_held": "15",
            "meetings_new_contacts": "2", "lunches_new_contacts": "1",
            "opportunities_created_upsell": "2", "email_reply_rate": "0.30",
            "stage_advances": "11", "revenue_won": "500000",
        },
        "week": {
            "calls_made": "13", "emails_sent": "11", "meetings_held": "3",
            "email_reply_rate": "0.30", "stage_advances": "3",
        },
    },
}  # fmt: skip
# A few reps with targets of their own (an ambitious SDR, a senior AE, a new AM).
DEMO_REP_TARGETS: dict[str, dict[tuple[str, str], str]] = {
    "demo-sdr": {("calls_made", "month"): "240", ("meetings_booked", "month"): "10"},
    "demo-ae": {("revenue_won", "month"): "200000", ("calls_made", "week"): "14"},
    "demo-am": {("calls_made", "month"): "40", ("calls_made", "week"): "10"},
}


def seed_demo_targets(*, today: dt.date) -> int:
    """Role targets per month and week for the demo's role presets, and a few rep overrides,
    in force since well before the history starts (through the target service: validated and
    logged). Returns how many were set."""
    from kpis.target_services import target_set  # kpis reads pipeline models: import late

    valid_from = dt.date(today.year - 2, 1, 1)
    count = 0
    for role, periods in DEMO_TARGETS.items():
        for period, values in periods.items():
            for kpi, value in values.items():
                target_set(kpi=kpi, scope="role", role=role, period=period, value=value,
                           valid_from=valid_from, changed_by=None)  # fmt: skip
                count += 1
    reps = {u.username: u for u in User.objects.filter(username__in=DEMO_REP_TARGETS)}
    for username, values in DEMO_REP_TARGETS.items():
        if (rep := reps.get(username)) is None:
            continue
        for (kpi, period), value in values.items():
            target_set(kpi=kpi, scope="rep", rep=rep, period=period, value=value,
                       valid_from=valid_from, changed_by=None)  # fmt: skip
            count += 1
    return count
