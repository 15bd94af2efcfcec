"""`POST /api/v1/auth/token/`: a user's API token for their username and password."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.throttling import ScopedRateThrottle


class TokenRequestSerializer(AuthTokenSerializer):
    username = serializers.CharField(label=_("Username"), write_only=True, help_text="Login name.")
    password = serializers.CharField(
        label=_("Password"),
        style={"input_type": "password"},
        trim_whitespace=False,
        write_only=True,
        help_text="The user's password.",
    )
    token = serializers.CharField(
        label=_("Token"),
        read_only=True,
        help_text="Send as `Authorization: Token <token>`.",
    )


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send as `Authorization: Token <token>`.")


@extend_schema(
    request=TokenRequestSerializer,
    responses={200: TokenSerializer},
    summary="Get an API token",
    description="The same token on every call until it is revoked in the admin. Attempts are "
    "throttled per client IP (setting `API_LOGIN_THROTTLE_RATE`, default 10 per minute): 429.",
)
class TokenView(ObtainAuthToken):
    serializer_class = TokenRequestSerializer
    # No session: the endpoint is for clients without one, so no CSRF token either.
    authentication_classes = ()
    throttle_classes = (ScopedRateThrottle,)
    throttle_scope = "login"
