"""Shared set-up of the API tests: a small organisation and its clients."""

from __future__ import annotations

from dataclasses import dataclass

from rest_framework.test import APIClient

from people.models import Team, User
from people.tests.factories import ManagerFactory, TeamFactory, UserFactory

API = "/api/v1"


@dataclass
class Org:
    """North: manager Mia, AE Anna, SDR Sam. South: manager Max, AE Bo. Root: a superuser."""

    north: Team
    south: Team
    mia: User
    anna: User
    sam: User
    max: User
    bo: User
    root: User


def build_org() -> Org:
    north, south = TeamFactory(name="North"), TeamFactory(name="South")
    return Org(
        north=north,
        south=south,
        mia=ManagerFactory(username="mia", team=north),
        anna=UserFactory(username="anna", role=User.Role.AE, team=north),
        sam=UserFactory(username="sam", role=User.Role.SDR, team=north),
        max=ManagerFactory(username="max", team=south),
        bo=UserFactory(username="bo", role=User.Role.AE, team=south),
        root=UserFactory(
            username="root", role=User.Role.MANAGER, team=None, is_superuser=True, is_staff=True
        ),
    )


def client_for(user: User | None = None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client
