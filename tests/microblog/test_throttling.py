"""The fixed-window rate limits behind the API's and the web UI's throttling."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache, caches
from rest_framework.test import APIRequestFactory

from microblog.cache import ResilientRedisCache, count_hits
from microblog.throttling import RateLimits


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


class PostingView:
    throttle_scope = "posting"


def _check(account, now: float, view=None, **rates) -> RateLimits:
    limits = RateLimits()
    limits.THROTTLE_RATES = {"anon": None, "user": None, "posting": None, **rates}
    limits.timer = lambda: now
    request = APIRequestFactory().post("/api/v1/statuses", REMOTE_ADDR="192.0.2.7")
    request.user = account
    limits.allowed = limits.allow_request(request, view)
    return limits


def test_counts_up_to_the_rate_then_refuses_until_the_window_ends(alice):
    start = 60.0 * 1000 + 15  # 15 s into a minute
    assert [_check(alice, start + i, user="3/min").allowed for i in range(4)] == [True, True, True, False]
    refused = _check(alice, start + 4, user="3/min")
    assert not refused.allowed
    assert refused.wait() == pytest.approx(60 - 19)
    assert _check(alice, start + 46, user="3/min").allowed  # the next minute


def test_each_client_and_each_scope_counts_apart(alice, bob):
    now = 1234.0
    assert _check(alice, now, user="1/min").allowed
    assert not _check(alice, now, user="1/min").allowed
    assert _check(bob, now, user="1/min").allowed
    assert _check(AnonymousUser(), now, user="1/min").allowed  # counted by address


def test_every_limit_of_a_request_applies_and_the_longest_wait_is_given(alice):
    now = 60.0 * 1000
    view = PostingView()
    for _ in range(2):
        assert _check(alice, now, view, user="5/min", posting="2/hour").allowed
    refused = _check(alice, now, view, user="5/min", posting="2/hour")
    assert not refused.allowed
    assert refused.wait() == pytest.approx(3600 - now % 3600)
    # Anonymous requests meet both the anon and the user limit, as with DRF's throttles.
    anonymous = [_check(AnonymousUser(), now, anon="1/min", user="9/min").allowed for _ in range(2)]
    assert anonymous == [True, False]


def test_all_limits_of_a_request_take_one_round_trip(alice, monkeypatch):
    backend = caches["default"]
    if not isinstance(backend, ResilientRedisCache):
        pytest.skip("the round trip is Redis's (CI's second pass)")
    pipelines = []
    real = type(backend._counting_client).pipeline
    monkeypatch.setattr(
        type(backend._counting_client), "pipeline", lambda self, **kw: pipelines.append(1) or real(self, **kw)
    )
    assert _check(alice, 1000.0, PostingView(), user="5/min", posting="5/min").allowed
    assert len(pipelines) == 1


def test_a_counter_lives_only_as_long_as_its_window():
    # Through the proxy the throttles use, and the backend behind it (Redis in CI's pass 2).
    assert [count_hits(cache, [("throttle-test", 30), ("other", 5)]) for _ in range(3)] == [
        [1, 1],
        [2, 2],
        [3, 3],
    ]
    backend = caches["default"]
    if isinstance(backend, ResilientRedisCache):
        key = backend.make_and_validate_key("throttle-test")
        client = backend._cache.get_client(key)
        assert int(client.get(key)) == 3
        assert 0 < client.ttl(key) <= 30
