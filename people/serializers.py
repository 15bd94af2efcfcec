"""API output of users and teams (read-only: people are managed in the admin)."""

from __future__ import annotations

from rest_framework import serializers

from people.models import Team, User
from saljsite.api import IdField, ServiceSerializer


class UserSerializer(ServiceSerializer):
    name = serializers.CharField(
        source="get_full_name", read_only=True, help_text="First and last name (may be empty)."
    )
    team = IdField(
        model=Team, read_only=True, allow_null=True, help_text="Id of the user's team; null: none."
    )

    class Meta:
        model = User
        fields = ["id", "username", "name", "role", "team"]
        read_only_fields = fields
        descriptions = {
            "id": "User id.",
            "username": "Login name.",
            "role": "Sales developer (sdr), account executive (ae), account manager (am) or "
            "sales manager (manager).",
        }


class TeamSerializer(ServiceSerializer):
    manager = IdField(
        model=User,
        read_only=True,
        allow_null=True,
        help_text="Id of the team's sales manager; null: none.",
    )
    members = IdField(model=User, many=True, read_only=True, help_text="Ids of the team's members.")

    class Meta:
        model = Team
        fields = ["id", "name", "manager", "members"]
        read_only_fields = fields
        descriptions = {"id": "Team id.", "name": "Team name."}
