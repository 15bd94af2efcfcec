"""The demo's leads and opportunities: who sources them, how they move and end."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal

from pipeline.demo.parts import _Seed
from pipeline.demo.words import (
    ADVANCE,
    AMOUNT_MEDIAN,
    DWELL_DAYS,
    LEAD_SOURCES,
    LOST_REASONS,
    PRODUCTS,
)
from pipeline.models import (
    Direction,
    Lead,
    LeadSource,
    Opportunity,
    Stage,
    StageChange,
)
from saljsite.timeutils import local_day


class DealsMixin:
    """Leads and opportunities with their stage history, and the activities that move them."""

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
