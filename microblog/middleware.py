"""Middleware: infrastructure trouble as clear answers instead of 500s, and cheap CSP headers."""

import functools

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject, CSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.core.signals import setting_changed
from django.db import DatabaseError, InterfaceError, OperationalError
from django.dispatch import receiver
from django.http import HttpRequest
from django.http.response import HttpResponseBase

from .views import service_unavailable

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class DatabaseUnavailableMiddleware:
    """A database that is restarting is a 503 with Retry-After, not a server error."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, OperationalError | InterfaceError) or (
            isinstance(exception, DatabaseError) and "connection" in str(exception).lower()
        ):
            return service_unavailable(request, "The database is unavailable; try again shortly.")
        return None


class ReadOnlyModeMiddleware:
    """Maintenance mode (HOLDFAST_READ_ONLY): reading works, writing answers 503."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if settings.HOLDFAST_READ_ONLY and request.method not in SAFE_METHODS:
            return service_unavailable(
                request, "This site is in maintenance and read-only for a few minutes."
            )
        return self.get_response(request)


_CUSTOMISING_ATTRIBUTES = tuple(
    f"_csp_{kind}{suffix}" for kind in ("config", "update", "replace") for suffix in ("", "_ro")
)


@functools.cache
def _settings_policies() -> tuple[tuple[str, str, str, tuple[str, ...]], ...]:
    """(header, value, exemption attribute, excluded path prefixes) for each policy set."""
    policies = []
    for header, setting, report_only, exempt in (
        (HEADER, "CONTENT_SECURITY_POLICY", False, "_csp_exempt"),
        (HEADER_REPORT_ONLY, "CONTENT_SECURITY_POLICY_REPORT_ONLY", True, "_csp_exempt_ro"),
    ):
        value = build_policy(report_only=report_only)
        prefixes = tuple((getattr(settings, setting, None) or {}).get("EXCLUDE_URL_PREFIXES") or ())
        if value:
            policies.append((header, value, exempt, prefixes))
    return tuple(policies)


@receiver(setting_changed)
def _forget_policies(setting: str, **kwargs) -> None:
    if setting.startswith("CONTENT_SECURITY_POLICY"):
        _settings_policies.cache_clear()


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware, with the policy from settings built once, not per response.

    Building it (a dataclass copied to a dict, then every directive joined) was 5 % of the
    instructions of a home timeline API request, and no view here changes it. A request that
    used its nonce, or a response given its own policy by django-csp's decorators, goes
    through django-csp unchanged.
    """

    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if getattr(request, "_csp_nonce", None) is not None or any(
            getattr(response, name, None) is not None for name in _CUSTOMISING_ATTRIBUTES
        ):
            return super().process_response(request, response)
        if settings.DEBUG and response.status_code in (500, 404):  # Django's debug pages
            return response
        for header, value, exempt, prefixes in _settings_policies():
            if (
                header not in response
                and not getattr(response, exempt, False)
                and not request.path_info.startswith(prefixes)
            ):
                response[header] = value
        # As django-csp does: a nonce asked for after the header is written is an error.
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)
        return response
