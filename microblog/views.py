"""Project-level views: health, and error pages that answer JSON under /api/."""

import sys

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views.decorators.cache import never_cache


def wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", "")


def service_unavailable(request: HttpRequest, message: str, retry_after: int = 30) -> HttpResponse:
    if wants_json(request):
        response = JsonResponse({"detail": message}, status=503)
    else:
        # No request context: its processors query the database that is down.
        response = HttpResponse(render_to_string("errors/503.html", {"message": message}), status=503)
    response["Retry-After"] = str(retry_after)
    return response


def broker_state() -> str:
    if not settings.CELERY_BROKER_URL:
        return "eager"
    from microblog.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return "ok"
    except Exception as exc:  # any transport error means "not reachable"
        return f"unavailable: {type(exc).__name__}"


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except (OperationalError, InterfaceError, DatabaseError) as exc:
        checks["database"] = f"unavailable: {type(exc).__name__}"
    checks["broker"] = broker_state()
    healthy = checks["database"] == "ok" and checks["broker"] in ("ok", "eager")
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", **checks}, status=200 if healthy else 503
    )


def _error(request: HttpRequest, status: int, message: str, template: str) -> HttpResponse:
    if wants_json(request):
        return JsonResponse({"detail": message}, status=status)
    return render(request, template, {"message": message}, status=status)


def bad_request(request, exception=None):
    return _error(request, 400, "The request could not be understood.", "errors/400.html")


def permission_denied(request, exception=None):
    return _error(request, 403, str(exception) or "You do not have permission to do that.", "errors/403.html")


def page_not_found(request, exception=None):
    return _error(request, 404, "Nothing here.", "errors/404.html")


def server_error(request):
    exc = sys.exc_info()[1]
    if isinstance(exc, OperationalError | InterfaceError):
        return service_unavailable(request, "The database is unavailable; try again shortly.")
    if wants_json(request):
        return JsonResponse({"detail": "Server error."}, status=500)
    return HttpResponse(render_to_string("errors/500.html"), status=500)
