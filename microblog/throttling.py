"""Rate limits counted in fixed windows, every limit of a request in one cache round trip.

DRF's own throttles keep the time of every request in the window as a list, read and
rewritten on each request: two Redis round trips per limit (posting has two limits), and
at the default 3000/min a busy client's list of 3000 times is unpickled and pickled again
every time. Here each (limit, client, window) has a counter, as Mastodon's rack-attack
keeps, and all the limits that apply to a request are counted in one pipeline. The price:
around a window's end a client can spend its rate twice in quick succession.
"""

from django.core.exceptions import ImproperlyConfigured
from rest_framework import throttling

from microblog.cache import count_hits


class RateLimits(throttling.SimpleRateThrottle):
    """The API's limits: ``anon`` (per address), ``user`` (per account, or per address
    when anonymous) and the view's ``throttle_scope``, as DRF's Anon-, User- and
    ScopedRateThrottle apply them, with the rates of ``DEFAULT_THROTTLE_RATES``."""

    def __init__(self) -> None:  # which rates apply depends on the request, not the class
        self.waits: list[float] = []

    def limits(self, request, view) -> list[tuple[str, str]]:
        """(scope, the client's identity within it) for every limit on this request."""
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            ident, scopes = str(user.pk), ["user"]
        else:
            ident, scopes = self.get_ident(request), ["anon", "user"]
        if scope := getattr(view, "throttle_scope", None):
            scopes.append(scope)
        return [(scope, ident) for scope in scopes]

    def allow_request(self, request, view) -> bool:
        now = self.timer()
        counted = []
        for scope, ident in self.limits(request, view):
            if scope not in self.THROTTLE_RATES:
                raise ImproperlyConfigured(f"No rate set for the throttle scope {scope!r}.")
            rate = self.THROTTLE_RATES[scope]
            if rate is None:
                continue
            allowed, duration = self.parse_rate(rate)
            window = int(now // duration)
            key = self.cache_format % {"scope": scope, "ident": ident}
            counted.append((f"{key}:{window}", duration, allowed, (window + 1) * duration - now))
        counts = count_hits(self.cache, [(key, duration) for key, duration, _, _ in counted])
        self.waits = [
            left for (_, _, allowed, left), count in zip(counted, counts, strict=True) if count > allowed
        ]
        return not self.waits

    def wait(self) -> float | None:
        return max(self.waits) if self.waits else None
