"""The demo's everyday activity: calls, emails, meetings, demos and lunches."""

from __future__ import annotations

import datetime as dt
import math

from activities.models import Activity
from pipeline.demo.parts import _Co, _Rep
from pipeline.demo.words import (
    CONNECT_RATE,
    DAILY,
    PLANNED_DAILY,
    PLANNED_DAYS,
    REPLY_RATE,
    SUBJECTS,
)
from pipeline.models import (
    Contact,
    Lead,
    Opportunity,
)
from saljsite.timeutils import local_day


class ActivitiesMixin:
    """The background of calls, emails and meetings, and one activity at a time."""

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
