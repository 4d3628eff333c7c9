"""A Redis cache that fails open: when Redis is down, reads miss and writes are dropped.

The cache holds only what can be recomputed or forgiven (throttle counters, cached pages),
so losing it for a while must never turn a request into a server error.
"""

import logging
import time
from functools import cached_property

from django.core.cache import BaseCache
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)
_UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, OSError)
_last_warning = 0.0


def _warn(exc: Exception) -> None:
    global _last_warning
    now = time.monotonic()
    if now - _last_warning > 10:  # one line per ten seconds, not one per request
        _last_warning = now
        logger.warning("cache unavailable, continuing without it: %s", exc)


def _fail_open(default_factory):
    def decorate(method):
        def wrapper(self, *args, **kwargs):
            try:
                return method(self, *args, **kwargs)
            except _UNAVAILABLE as exc:
                _warn(exc)
                return default_factory(*args, **kwargs)

        wrapper.__name__ = method.__name__
        return wrapper

    return decorate


class ResilientRedisCache(RedisCache):
    get = _fail_open(lambda key, default=None, version=None: default)(RedisCache.get)
    set = _fail_open(lambda *a, **k: None)(RedisCache.set)
    add = _fail_open(lambda *a, **k: False)(RedisCache.add)
    touch = _fail_open(lambda *a, **k: False)(RedisCache.touch)
    delete = _fail_open(lambda *a, **k: False)(RedisCache.delete)
    get_many = _fail_open(lambda *a, **k: {})(RedisCache.get_many)
    set_many = _fail_open(lambda *a, **k: [])(RedisCache.set_many)
    delete_many = _fail_open(lambda *a, **k: None)(RedisCache.delete_many)
    has_key = _fail_open(lambda *a, **k: False)(RedisCache.has_key)
    clear = _fail_open(lambda *a, **k: False)(RedisCache.clear)

    @cached_property
    def _counting_client(self):
        # Django builds a new redis.Redis (and its table of reply parsers) for every cache
        # call; on a path taken by every request, build it once. It shares Django's pool.
        return self._cache.get_client(write=True)

    def count_hits(self, keys: list[tuple[str, int]]) -> list[int]:
        """Add one to each (key, seconds it lives) counter; their new values.

        All in one pipeline of INCR and EXPIRE, a single round trip: Django's ``incr``
        first asks whether the key exists, and ``add`` then ``incr`` costs two. With Redis
        down nothing is counted (1 each): rate limits pause rather than requests failing.
        """
        if not keys:
            return []
        try:
            pipe = self._counting_client.pipeline(transaction=False)
            for key, window in keys:
                redis_key = self.make_and_validate_key(key)
                pipe.incr(redis_key)
                pipe.expire(redis_key, window)
            return pipe.execute()[::2]
        except _UNAVAILABLE as exc:
            _warn(exc)
            return [1] * len(keys)

    def incr(self, key, delta=1, version=None):
        try:
            return super().incr(key, delta, version)
        except _UNAVAILABLE as exc:
            _warn(exc)
            return delta


def count_hits(cache: BaseCache, keys: list[tuple[str, int]]) -> list[int]:
    """Add one to each (key, seconds it lives) counter, in any cache; their new values."""
    # ``cache`` may be django.core.cache.cache, a proxy that isinstance() does not see through.
    if counter := getattr(cache, "count_hits", None):
        return counter(keys)
    return [_count_hit(cache, key, window) for key, window in keys]


def _count_hit(cache: BaseCache, key: str, window: int) -> int:
    if cache.add(key, 1, window):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # expired between the two calls
        cache.add(key, 1, window)
        return 1
