"""Prepared statements (`saljsite.prepared`): prepared once per connection on PostgreSQL, and
otherwise what Django's cursor is (errors, savepoints, logging, times)."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token

from people.tests.factories import UserFactory
from saljsite.prepared import prepared_cursor

pytestmark = pytest.mark.django_db


def prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [statement for (statement,) in cursor.fetchall()]


@pytest.mark.postgres
def test_a_statement_run_twice_is_prepared_once(postgres_only):
    sql = "SELECT %s::integer + 1 AS prepared_sum"

    with prepared_cursor(connection) as cursor:
        cursor.execute(sql, [1])
        first = cursor.fetchone()
        cursor.execute(sql, [41])
        second = cursor.fetchone()

    assert (first, second) == ((2,), (42,))
    assert len([s for s in prepared_statements() if "prepared_sum" in s]) == 1


@pytest.mark.postgres
def test_django_cursors_still_prepare_and_count_nothing(postgres_only):
    with prepared_cursor(connection) as cursor:
        cursor.execute("SELECT %s::integer AS prepared_value", [1])

    with connection.cursor() as cursor:
        for _ in range(10):
            cursor.execute("SELECT %s::integer AS unprepared_value", [1])

    assert not [s for s in prepared_statements() if "unprepared_value" in s]
    # psycopg's statement cache is on only while a prepared cursor runs: other statements, with
    # their values in their text, are not counted (kept) in it.
    assert connection.connection.prepare_threshold is None
    assert not connection.connection._prepared._counts


@pytest.mark.postgres
def test_with_prepared_statements_off_the_cursor_is_djangos(postgres_only, settings):
    settings.SALJSITE_PREPARED_STATEMENTS = False

    with prepared_cursor(connection) as cursor:
        for _ in range(3):
            cursor.execute("SELECT %s::integer AS switched_off", [1])

    assert not [s for s in prepared_statements() if "switched_off" in s]


def test_a_failed_statement_is_djangos_error_and_a_savepoint_keeps_the_transaction():
    token = Token.objects.create(user=UserFactory())

    with pytest.raises(IntegrityError), transaction.atomic(), prepared_cursor(connection) as c:
        c.execute(
            "INSERT INTO authtoken_token (key, user_id, created) VALUES (%s, %s, %s)",
            [token.key, token.user_id, token.created],
        )

    assert list(Token.objects.values_list("key", flat=True)) == [token.key]


def test_the_logged_statement_carries_its_parameters():
    with CaptureQueriesContext(connection) as captured, prepared_cursor(connection) as cursor:
        cursor.execute("SELECT %s AS logged_value", ["marker-4711"])

    assert len(captured) == 1
    assert "marker-4711" in captured[0]["sql"]


def test_times_are_read_as_by_djangos_cursor():
    user = UserFactory()
    sql = "SELECT date_joined FROM people_user WHERE id = %s"
    with connection.cursor() as cursor:
        cursor.execute(sql, [user.pk])
        expected = cursor.fetchone()[0]

    with prepared_cursor(connection) as cursor:
        cursor.execute(sql, [user.pk])
        read = cursor.fetchone()[0]

    assert read == expected
    assert read.utcoffset() == expected.utcoffset()
