"""Every write marks the (rep, local day) cells whose KPIs it changes; a failed write marks none."""

from __future__ import annotations

import datetime as dt
import uuid
from datetime import UTC

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from activities.services import (
    activity_book,
    activity_cancel,
    activity_delete,
    activity_log,
    activity_update,
)
from kpis.compute.run import _claim, _release
from kpis.models import DirtyCell, Source
from kpis.services import dirty_cells_mark, dirty_cells_statement
from people.tests.factories import UserFactory
from pipeline.models import Company
from pipeline.services import (
    lead_assign,
    lead_create,
    opportunity_create,
    opportunity_move_stage,
    opportunity_update,
    rep_cost_set,
)
from pipeline.tests.factories import CompanyFactory, ContactFactory

pytestmark = pytest.mark.django_db

MONDAY = dt.date(2026, 11, 2)
AT = dt.datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # Monday 10:00 in Stockholm.


def dirty() -> set[tuple[int, dt.date]]:
    return set(DirtyCell.objects.values_list("rep_id", "day"))


def clear_dirty() -> None:
    """Start the act step from a clean slate, so the assertions list exactly what it marked."""
    DirtyCell.objects.all().delete()


@pytest.fixture
def rep():
    return UserFactory(role="ae")


@pytest.fixture
def sdr():
    return UserFactory(role="sdr")


# ---------------------------------------------------------------------------
# dirty_cells_mark
# ---------------------------------------------------------------------------
def test_marking_a_cell_stores_it_with_a_token(rep):
    dirty_cells_mark(cells=[(rep.pk, MONDAY)])

    cell = DirtyCell.objects.get()
    assert (cell.rep_id, cell.day) == (rep.pk, MONDAY)
    assert cell.token is not None


def test_marking_the_same_cell_twice_leaves_one_row(rep):
    dirty_cells_mark(cells=[(rep.pk, MONDAY)])
    first = DirtyCell.objects.get()

    dirty_cells_mark(cells=[(rep.pk, MONDAY), (rep.pk, MONDAY)])

    second = DirtyCell.objects.get()
    assert second.pk == first.pk


def test_re_marking_an_unclaimed_cell_with_no_new_source_leaves_it_as_it_is(rep):
    dirty_cells_mark(cells=[(rep.pk, MONDAY)], sources=Source.ACTIVITY)
    first = DirtyCell.objects.get()

    dirty_cells_mark(cells=[(rep.pk, MONDAY)], sources=Source.ACTIVITY)
    dirty_cells_mark(cells=[(rep.pk, MONDAY)], sources=Source.COUNTERS)

    second = DirtyCell.objects.get()
    assert (second.token, second.marked_at, second.sources) == (
        first.token,
        first.marked_at,
        Source.ACTIVITY | Source.COUNTERS,
    )
    assert second.run is None


def test_re_marking_an_unclaimed_cell_with_a_new_source_refreshes_it(rep):
    dirty_cells_mark(cells=[(rep.pk, MONDAY)], sources=Source.ACTIVITY)
    first = DirtyCell.objects.get()

    dirty_cells_mark(cells=[(rep.pk, MONDAY)], sources=Source.LEAD)

    second = DirtyCell.objects.get()
    assert second.token != first.token
    assert second.marked_at >= first.marked_at
    assert second.sources == Source.ACTIVITY | Source.LEAD | Source.COUNTERS


def test_a_single_statement_write_skips_a_re_mark_as_dirty_cells_mark_does(rep):
    """The upsert a write embeds in its own statement (`dirty_cells_statement`) has the same
    conflict rule."""
    dirty_cells_mark(cells=[(rep.pk, MONDAY)], sources=Source.ACTIVITY)
    first = DirtyCell.objects.get()

    sql, params, rep_ids = dirty_cells_statement(
        cells=[(rep.pk, MONDAY)], now=timezone.now(), sources=Source.ACTIVITY
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)

    assert rep_ids == [rep.pk]
    assert DirtyCell.objects.get().token == first.token


def test_a_mark_after_the_claim_refreshes_the_token_and_the_cell_stays_dirty(rep):
    """A write committed during a run: the run claimed the cell with its token; the write's
    mark (with no new source) still gives it a fresh token, so the run's release hands the cell
    back dirty instead of clearing it."""
    dirty_cells_mark(cells=[(rep.pk, MONDAY)], sources=Source.ACTIVITY)
    run = uuid.uuid4()
    assert _claim(run=run, now=timezone.now()) == 1
    claimed = DirtyCell.objects.get()

    dirty_cells_mark(cells=[(rep.pk, MONDAY)], sources=Source.ACTIVITY)

    marked = DirtyCell.objects.get()
    assert marked.token != claimed.claimed_token
    assert marked.run == run  # Still the run's claim, until its release.
    _release(run=run)
    cell = DirtyCell.objects.get()
    assert (cell.token, cell.run, cell.sources) == (
        marked.token,
        None,
        Source.ACTIVITY | Source.COUNTERS,
    )
    # The next run claims it with that token and clears it.
    next_run = uuid.uuid4()
    assert _claim(run=next_run, now=timezone.now()) == 1
    _release(run=next_run)
    assert dirty() == set()


def test_marking_ignores_cells_without_rep_or_day(rep):
    dirty_cells_mark(cells=[(None, MONDAY), (rep.pk, None), (None, None)])

    assert dirty() == set()


def test_database_refuses_a_second_row_for_the_same_cell(rep):
    dirty_cells_mark(cells=[(rep.pk, MONDAY)])
    duplicate = DirtyCell(rep=rep, day=MONDAY, token=DirtyCell.objects.get().token, marked_at=AT)

    with pytest.raises(IntegrityError), transaction.atomic():
        DirtyCell.objects.bulk_create([duplicate])

    assert DirtyCell.objects.count() == 1


def sources() -> dict[tuple[int, dt.date], int]:
    return {(c.rep_id, c.day): c.sources for c in DirtyCell.objects.all()}


def test_a_mark_without_sources_is_every_source(rep):
    dirty_cells_mark(cells=[(rep.pk, MONDAY)])

    assert sources() == {(rep.pk, MONDAY): Source.ALL}


def test_marks_of_an_unclaimed_cell_add_up_their_sources(rep):
    dirty_cells_mark(cells=[(rep.pk, MONDAY)], sources=Source.ACTIVITY)
    assert sources() == {(rep.pk, MONDAY): Source.ACTIVITY | Source.COUNTERS}

    # Another write, and a cell given with its own bits: the cell keeps what it had.
    dirty_cells_mark(cells=[(rep.pk, MONDAY, Source.LEAD)], sources=Source.PIPELINE)

    assert sources() == {(rep.pk, MONDAY): Source.ACTIVITY | Source.LEAD | Source.COUNTERS}


def test_marking_many_cells_at_once_writes_every_one(rep, sdr):
    days = [MONDAY + dt.timedelta(days=i) for i in range(600)]

    dirty_cells_mark(cells=[(r.pk, day) for r in (rep, sdr) for day in days])

    assert len(dirty()) == 1200


def test_an_activity_marks_each_cell_with_what_it_changes_there(rep, sdr):
    contact = ContactFactory()
    lead = lead_create(name="Lead", assigned_to=sdr, received_at=AT - dt.timedelta(days=7))
    clear_dirty()

    activity_log(owner=rep, kind="meeting", occurred_at=AT, contact=contact, lead=lead)
    activity_book(booked_by=sdr, owner=rep, kind="meeting", booked_at=AT,
                  occurred_at=AT + dt.timedelta(days=2), contact=contact)  # fmt: skip

    assert sources() == {
        # The meeting's own day: its activities (calls_per_customer's inputs among them).
        (rep.pk, MONDAY): Source.ACTIVITY | Source.COUNTERS,
        # The lead's assignee and received day: its answer (response time, unanswered).
        (sdr.pk, MONDAY - dt.timedelta(days=7)): Source.LEAD | Source.COUNTERS,
        # The booker's day: booking counters only.
        (sdr.pk, MONDAY): Source.COUNTERS,
        # The booked meeting's own day (planned: it counts nowhere yet, but it is an activity).
        (rep.pk, MONDAY + dt.timedelta(days=2)): Source.ACTIVITY | Source.COUNTERS,
    }


# ---------------------------------------------------------------------------
# Activities
# ---------------------------------------------------------------------------
def test_logging_an_activity_marks_the_owners_local_day(rep):
    activity_log(owner=rep, kind="call", occurred_at=dt.datetime(2026, 11, 29, 23, 30, tzinfo=UTC))

    assert dirty() == {(rep.pk, dt.date(2026, 11, 30))}


def test_a_booking_also_marks_the_bookers_booked_day(rep, sdr):
    activity_book(
        booked_by=sdr,
        owner=rep,
        kind="meeting",
        occurred_at=dt.datetime(2026, 12, 3, 13, 0, tzinfo=UTC),
        booked_at=AT,
    )

    assert dirty() == {(rep.pk, dt.date(2026, 12, 3)), (sdr.pk, MONDAY)}


def test_an_activity_on_a_lead_marks_the_assignees_received_day(rep, sdr):
    lead = lead_create(
        name="Inbound", assigned_to=sdr, received_at=dt.datetime(2026, 10, 30, 8, tzinfo=UTC)
    )
    clear_dirty()

    activity_log(owner=rep, kind="call", occurred_at=AT, lead=lead)

    assert dirty() == {(rep.pk, MONDAY), (sdr.pk, dt.date(2026, 10, 30))}


def test_re_dating_an_activity_marks_the_old_and_the_new_day(rep):
    call = activity_log(owner=rep, kind="call", occurred_at=AT)
    clear_dirty()

    activity_update(activity=call, occurred_at=AT + dt.timedelta(days=3))

    assert dirty() == {(rep.pk, MONDAY), (rep.pk, dt.date(2026, 11, 5))}


def test_reassigning_an_activity_marks_the_old_and_the_new_owner(rep):
    call = activity_log(owner=rep, kind="call", occurred_at=AT)
    colleague = UserFactory()
    clear_dirty()

    activity_update(activity=call, owner=colleague)

    assert dirty() == {(rep.pk, MONDAY), (colleague.pk, MONDAY)}


def test_cancelling_a_booking_marks_the_bookers_and_the_owners_cells(rep, sdr):
    meeting = activity_book(
        booked_by=sdr,
        owner=rep,
        kind="meeting",
        occurred_at=dt.datetime(2026, 12, 3, 13, 0, tzinfo=UTC),
        booked_at=AT,
    )
    clear_dirty()

    activity_cancel(activity=meeting)

    assert dirty() == {(rep.pk, dt.date(2026, 12, 3)), (sdr.pk, MONDAY)}


def test_deleting_an_activity_marks_its_cell(rep):
    call = activity_log(owner=rep, kind="call", occurred_at=AT)
    clear_dirty()

    activity_delete(activity=call)

    assert dirty() == {(rep.pk, MONDAY)}


# ---------------------------------------------------------------------------
# Opportunities and stage moves
# ---------------------------------------------------------------------------
CREATED_AT = dt.datetime(2026, 10, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def opportunity(rep):
    return opportunity_create(
        name="Deal",
        company=CompanyFactory(),
        owner=rep,
        created_by=rep,
        amount=1000,
        created_at=CREATED_AT,
    )


def test_creating_an_opportunity_marks_the_creators_and_the_owners_created_day(rep, sdr):
    opportunity_create(
        name="Deal", company=CompanyFactory(), owner=rep, created_by=sdr, created_at=CREATED_AT
    )

    assert dirty() == {(sdr.pk, dt.date(2026, 10, 1)), (rep.pk, dt.date(2026, 10, 1))}


def test_a_stage_move_marks_the_owners_cell_on_the_move_day(opportunity, rep, sdr):
    clear_dirty()

    opportunity_move_stage(
        opportunity=opportunity,
        to_stage="meeting",
        changed_by=sdr,
        at=dt.datetime(2026, 11, 22, 23, 30, tzinfo=UTC),  # Monday 00:30 in Stockholm.
    )

    # The move day, plus the creation cell (the entry this move exits, for stage conversion);
    # beyond those, only the owner's later days (open pipeline of the periods since the move).
    move_day = dt.date(2026, 11, 23)
    assert {(rep.pk, move_day), (rep.pk, dt.date(2026, 10, 1))} <= dirty()
    others = dirty() - {(rep.pk, move_day), (rep.pk, dt.date(2026, 10, 1))}
    assert all(rep_id == rep.pk and day > move_day for rep_id, day in others)
    assert (sdr.pk, move_day) not in dirty()


def test_a_move_after_an_owner_change_marks_the_new_owner_on_the_move_day(opportunity, rep):
    successor = UserFactory()
    opportunity_update(opportunity=opportunity, owner=successor)
    clear_dirty()

    opportunity_move_stage(opportunity=opportunity, to_stage="meeting", changed_by=successor, at=AT)

    # The entry being exited was the old owner's, on the creation day; later days are the new
    # owner's (open pipeline of the periods since the move).
    assert {(successor.pk, MONDAY), (rep.pk, dt.date(2026, 10, 1))} <= dirty()
    others = dirty() - {(successor.pk, MONDAY), (rep.pk, dt.date(2026, 10, 1))}
    assert all(rep_id == successor.pk and day > MONDAY for rep_id, day in others)


def test_winning_marks_the_owners_cell_on_the_close_day(opportunity, rep):
    clear_dirty()

    opportunity_move_stage(opportunity=opportunity, to_stage="won", changed_by=rep, at=AT)

    assert (rep.pk, MONDAY) in dirty()


def test_reopening_marks_the_old_close_day_and_the_reopening_day(opportunity, rep):
    opportunity_move_stage(opportunity=opportunity, to_stage="won", changed_by=rep, at=AT)
    clear_dirty()

    opportunity_move_stage(
        opportunity=opportunity,
        to_stage="negotiation",
        changed_by=rep,
        at=AT + dt.timedelta(days=2),
    )

    assert {(rep.pk, MONDAY), (rep.pk, dt.date(2026, 11, 4))} <= dirty()


def test_changing_the_owner_of_a_won_deal_marks_both_owners_on_the_close_day(opportunity, rep):
    opportunity_move_stage(opportunity=opportunity, to_stage="won", changed_by=rep, at=AT)
    successor = UserFactory()
    clear_dirty()

    opportunity_update(opportunity=opportunity, owner=successor)

    assert {(rep.pk, MONDAY), (successor.pk, MONDAY)} <= dirty()


# ---------------------------------------------------------------------------
# Leads and rep costs
# ---------------------------------------------------------------------------
def test_assigning_a_lead_marks_the_old_and_the_new_assignee_at_the_received_day(sdr):
    lead = lead_create(name="Inbound", assigned_to=sdr, received_at=AT)
    other = UserFactory(role="sdr")
    clear_dirty()

    lead_assign(lead=lead, to=other)

    assert dirty() == {(sdr.pk, MONDAY), (other.pk, MONDAY)}


def test_unassigning_a_lead_marks_the_old_assignee(sdr):
    lead = lead_create(name="Inbound", assigned_to=sdr, received_at=AT)
    clear_dirty()

    lead_assign(lead=lead, to=None)

    assert dirty() == {(sdr.pk, MONDAY)}


def test_rep_cost_set_marks_the_reps_month(rep):
    rep_cost_set(rep=rep, month=dt.date(2026, 10, 1), kind="salary", amount=45000)

    assert dirty() == {(rep.pk, dt.date(2026, 10, 1))}


# ---------------------------------------------------------------------------
# A failed write marks nothing
# ---------------------------------------------------------------------------
def test_an_invalid_activity_leaves_no_dirty_cell(rep):
    with pytest.raises(ValidationError):
        activity_log(owner=rep, kind="email", occurred_at=AT, outcome="connected")

    assert dirty() == set()


def test_an_invalid_activity_update_leaves_no_dirty_cell(rep):
    call = activity_log(owner=rep, kind="call", occurred_at=AT)
    clear_dirty()

    with pytest.raises(ValidationError):
        activity_update(activity=call, occurred_at=AT + dt.timedelta(days=1), duration_seconds=-1)

    assert dirty() == set()


def test_an_invalid_stage_move_leaves_no_dirty_cell(opportunity, rep):
    clear_dirty()

    with pytest.raises(ValidationError):
        opportunity_move_stage(opportunity=opportunity, to_stage="lost", changed_by=rep, at=AT)

    assert dirty() == set()


def test_an_invalid_rep_cost_leaves_no_dirty_cell(rep):
    with pytest.raises(ValidationError):
        rep_cost_set(rep=rep, month=dt.date(2026, 10, 15), kind="salary", amount=1)

    assert dirty() == set()


def test_a_failed_write_does_not_refresh_an_existing_cells_token(rep):
    call = activity_log(owner=rep, kind="call", occurred_at=AT)
    # Claimed, as by a running recompute: any mark, even without a new source, would give it a
    # fresh token.
    DirtyCell.objects.update(run=uuid.uuid4(), claimed_token=F("token"), claimed_at=AT)
    token = DirtyCell.objects.get().token

    with pytest.raises(ValidationError):
        activity_update(activity=call, kind="email", outcome="connected")

    assert list(DirtyCell.objects.values_list("token", flat=True)) == [token]


def test_a_new_account_manager_marks_the_companys_purchase_history(rep):
    from pipeline.services import company_save

    company = Company.objects.create(name="Kund AB", owner=rep)
    created = dt.datetime(2026, 3, 2, 9, tzinfo=UTC)
    deal = opportunity_create(
        name="D", company=company, owner=rep, created_by=rep, amount=10, created_at=created
    )
    opportunity_move_stage(opportunity=deal, to_stage="won", changed_by=rep,
                           at=dt.datetime(2026, 3, 3, 9, tzinfo=UTC))  # fmt: skip
    clear_dirty()
    successor = UserFactory()
    company.owner = successor
    company_save(company=company)
    marked = dirty()
    # Both account managers, on a day in every week from the first purchase on.
    assert (rep.pk, dt.date(2026, 3, 3)) in marked
    assert (successor.pk, dt.date(2026, 3, 3)) in marked
    assert len({day for _rep, day in marked}) >= 30


def test_a_changed_decision_maker_flag_marks_the_bookers_cells(rep, sdr):
    from pipeline.services import contact_save

    contact = ContactFactory(is_decision_maker=False)
    activity_book(booked_by=sdr, owner=rep, kind="meeting", contact=contact,
                  booked_at=dt.datetime(2026, 11, 2, 9, tzinfo=UTC),
                  occurred_at=dt.datetime(2026, 11, 9, 9, tzinfo=UTC))  # fmt: skip
    clear_dirty()
    contact.is_decision_maker = True
    contact_save(contact=contact)
    assert dirty() == {(sdr.pk, dt.date(2026, 11, 2))}
