"""The demo organisation: teams, reps, companies, contacts and rep costs."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from django.contrib.auth.hashers import make_password

from people.models import Team, User
from pipeline.demo.parts import _ascii, _Co, _Rep, org_number
from pipeline.demo.words import (
    BASE_REPS,
    CO_HEADS,
    CO_SUFFIXES,
    CO_TAILS,
    DECISION_MAKER_TITLES,
    DEMO_EMAIL_DOMAIN,
    DEMO_PASSWORD,
    DEMO_PREFIX,
    FIRST_NAMES,
    LAST_NAMES,
    SALARY,
    TEAM_CITIES,
    TEAM_ROLES,
    TITLES,
)
from pipeline.models import (
    Company,
    Contact,
    RepCost,
)


class OrganisationMixin:
    """Teams, reps, companies with their contacts, and the reps' monthly costs."""

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


def _add_months(month: dt.date, n: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)
