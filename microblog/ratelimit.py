"""Rate limits for the web UI, sharing the API's throttle rates and cache (Redis in production)."""

from functools import wraps

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

from microblog.throttling import RateLimits

# Scopes about creating or entering accounts count per client address, whoever is logged in.
PER_ADDRESS_SCOPES = {"signup", "login"}


class _ScopeThrottle(RateLimits):
    def __init__(self, scope: str) -> None:
        super().__init__()
        self.scope = scope

    def limits(self, request, view) -> list[tuple[str, str]]:
        user = getattr(request, "user", None)
        per_user = self.scope not in PER_ADDRESS_SCOPES and user is not None and user.is_authenticated
        return [(self.scope, f"web:user:{user.pk}" if per_user else f"web:{self.get_ident(request)}")]


def too_many_requests(wait: float | None) -> HttpResponse:
    seconds = max(1, int(wait or 60))
    response = HttpResponse(render_to_string("errors/429.html", {"retry_after": seconds}), status=429)
    response["Retry-After"] = str(seconds)
    return response


def rate_limited(scope: str, methods: tuple[str, ...] = ("POST",)):
    """Limit a view's unsafe requests with the throttle rate named ``scope``."""

    def decorator(view):
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs):
            if request.method in methods:
                throttle = _ScopeThrottle(scope)
                if not throttle.allow_request(request, None):
                    return too_many_requests(throttle.wait())
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
