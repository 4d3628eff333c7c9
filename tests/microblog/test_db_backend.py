"""microblog.db.postgresql: Django's backend with a round-trip-free health check and C-parsed
timestamps. Both must behave exactly as Django's own do."""

import datetime
import time

import pytest
from django.db import connection, connections
from psycopg import pq

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the backend wraps PostgreSQL's"),
]

TIMESTAMPTZ_OID = 1184


def test_timestamps_come_back_as_aware_utc():
    from microblog.db.postgresql.base import UtcTimestamptzLoader

    with connection.cursor() as cursor:
        cursor.execute("SELECT '2026-01-01 10:00:00.5+02'::timestamptz, NULL::timestamptz")
        value, missing = cursor.fetchone()
    assert value == datetime.datetime(2026, 1, 1, 8, 0, 0, 500000, tzinfo=datetime.UTC)
    assert value.tzinfo is datetime.UTC
    assert missing is None
    loader = connection.connection.adapters.get_loader(TIMESTAMPTZ_OID, pq.Format.TEXT)
    assert loader is UtcTimestamptzLoader


def test_health_check_needs_no_query_and_sees_a_terminated_session():
    other = connections.create_connection("default")
    try:
        other.connect()
        assert other.is_usable()
        before = other.connection.pgconn.transaction_status
        assert before == pq.TransactionStatus.IDLE
        pid = other.connection.info.backend_pid
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        deadline = time.monotonic() + 5
        while other.is_usable() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not other.is_usable()
    finally:
        other.close()


def test_health_check_inside_a_transaction_asks_the_server():
    # the test runs in a transaction: the backend falls back to Django's SELECT 1
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")  # psycopg sends the test's BEGIN with the first query
    assert connection.connection.pgconn.transaction_status == pq.TransactionStatus.INTRANS
    assert connection.is_usable()
