"""Middleware that turns infrastructure trouble into clear answers instead of 500s."""

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError

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
