"""Rate limits that count requests in fixed windows: one cache round trip per check.

DRF's own throttles keep the time of every request in the window as a list, read and
rewritten on each request: two Redis round trips per limit, and at the default
3000/min a busy client's list of 3000 times is unpickled and pickled again every time.
Here each (limit, client, window) has a counter instead, as Mastodon's rack-attack keeps.
The price: around a window's end a client can spend its rate twice in quick succession.
"""

from rest_framework import throttling

from microblog.cache import count_hit


class FixedWindowMixin(throttling.SimpleRateThrottle):
    """Put after a DRF throttle class: it keeps choosing the rate and the key, this counts."""

    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        window = int(self.now // self.duration)
        self.window_ends = (window + 1) * self.duration
        return count_hit(self.cache, f"{self.key}:{window}", self.duration) <= self.num_requests

    def wait(self) -> float:
        return max(0.0, self.window_ends - self.now)


class AnonRateThrottle(throttling.AnonRateThrottle, FixedWindowMixin):
    pass


class UserRateThrottle(throttling.UserRateThrottle, FixedWindowMixin):
    pass


class ScopedRateThrottle(throttling.ScopedRateThrottle, FixedWindowMixin):
    pass
