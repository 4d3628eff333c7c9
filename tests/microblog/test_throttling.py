"""The fixed-window throttles behind the API's and the web UI's rate limits."""

import pytest
from django.core.cache import cache, caches
from rest_framework.test import APIRequestFactory

from microblog.cache import ResilientRedisCache, count_hit
from microblog.throttling import UserRateThrottle


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


def _throttle(rate: str, now: float) -> UserRateThrottle:
    throttle = UserRateThrottle()
    throttle.rate = rate
    throttle.num_requests, throttle.duration = throttle.parse_rate(rate)
    throttle.timer = lambda: now
    return throttle


def _request(user):
    request = APIRequestFactory().get("/api/v1/timelines/home")
    request.user = user
    return request


def test_counts_up_to_the_rate_then_refuses_until_the_window_ends(alice):
    start = 600.0 * 1000 + 15  # 15 s into a minute
    answers = [_throttle("3/min", start + i).allow_request(_request(alice), None) for i in range(4)]
    assert answers == [True, True, True, False]

    refused = _throttle("3/min", start + 4)
    assert refused.allow_request(_request(alice), None) is False
    assert refused.wait() == pytest.approx(60 - 19)

    assert _throttle("3/min", start + 46).allow_request(_request(alice), None) is True


def test_each_client_has_its_own_count(alice, bob):
    now = 1234.0
    assert _throttle("1/min", now).allow_request(_request(alice), None) is True
    assert _throttle("1/min", now).allow_request(_request(alice), None) is False
    assert _throttle("1/min", now).allow_request(_request(bob), None) is True


def test_a_counter_lives_only_as_long_as_its_window():
    # Through the proxy the throttles use, and the backend behind it (Redis in CI's pass 2).
    assert [count_hit(cache, "throttle-test", 30) for _ in range(3)] == [1, 2, 3]
    backend = caches["default"]
    if isinstance(backend, ResilientRedisCache):
        key = backend.make_and_validate_key("throttle-test")
        client = backend._cache.get_client(key)
        assert int(client.get(key)) == 3
        assert 0 < client.ttl(key) <= 30
