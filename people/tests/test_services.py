import datetime as dt

import pytest

from activities.services import activity_log
from kpis.compute.run import recompute
from kpis.models import DirtyCell
from people.services import user_set_team
from people.tests.factories import TeamFactory, UserFactory


@pytest.mark.django_db
def test_moving_a_rep_to_another_team_marks_their_history_for_recompute():
    rep = UserFactory(team=TeamFactory(name="A"))
    activity_log(owner=rep, kind="call", occurred_at=dt.datetime(2026, 9, 1, 9, tzinfo=dt.UTC))
    recompute()
    assert not DirtyCell.objects.exists()
    user_set_team(user=rep, team=TeamFactory(name="B"))
    days = sorted(DirtyCell.objects.filter(rep=rep).values_list("day", flat=True))
    assert days[0] == dt.date(2026, 9, 1)
    assert len(days) >= 12  # a day in every week since, so every period is revisited


@pytest.mark.django_db
def test_admin_team_change_goes_through_the_service(admin_client):
    rep = UserFactory(username="mover", team=TeamFactory(name="A"))
    activity_log(owner=rep, kind="call", occurred_at=dt.datetime(2026, 9, 1, 9, tzinfo=dt.UTC))
    recompute()
    team_b = TeamFactory(name="B")
    response = admin_client.post(
        f"/admin/people/user/{rep.pk}/change/",
        {
            "username": "mover",
            "first_name": rep.first_name,
            "last_name": rep.last_name,
            "email": rep.email,
            "is_active": "on",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "09:00:00",
            "role": rep.role,
            "team": team_b.pk,
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    rep.refresh_from_db()
    assert rep.team == team_b
    assert DirtyCell.objects.filter(rep=rep).count() >= 12
