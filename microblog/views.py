"""Project-level views: health, and error pages that answer JSON under /api/."""

import sys

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import Resolver404, resolve
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt


def wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", "")


def mastodon_path(request: HttpRequest) -> bool:
    """Whether the request is to Mastodon's client API, whose errors are ``{"error": …}``."""
    path = request.path_info
    return path.startswith(("/api/v", "/oauth/")) and not path.startswith("/api/holdfast/")


def service_unavailable(request: HttpRequest, message: str, retry_after: int = 30) -> HttpResponse:
    if wants_json(request):
        response = JsonResponse({"error" if mastodon_path(request) else "detail": message}, status=503)
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
        with app.connection_for_write(settings.CELERY_BROKER_URL) as conn:
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


def worker_state() -> str:
    if not settings.CELERY_BROKER_URL:
        return "eager"
    from microblog.celery import app

    try:
        replies = app.control.ping(timeout=1.0, limit=1)
    except Exception as exc:  # broker unreachable
        return f"unavailable: {type(exc).__name__}"
    return "ok" if replies else "no worker answered"


def moderation_deep_state(broker: str) -> str:
    """The moderation second stage: "off", "eager", "ok", "no worker" or why it is unknown."""
    from moderation import second_stage
    from moderation.worker_status import deep_status

    if broker not in ("ok", "eager") and second_stage.switched_on():
        return broker  # do not wait on a broadcast through a broker that is down
    return deep_status().state


@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    """Ready to serve: database, broker, a live worker, and a moderation backlog under a bound.
    Also says whether a worker serves the moderation second stage (not a condition)."""
    from datetime import timedelta

    from django.utils import timezone

    from microblog.posts.models import ModerationState, Post

    checks: dict[str, object] = {}
    try:
        stale = Post.objects.filter(
            moderation_state=ModerationState.PENDING,
            deleted_at__isnull=True,
            created_at__lt=timezone.now() - timedelta(seconds=60),
        ).count()
        checks["database"] = "ok"
        checks["stale_backlog"] = stale
        backlog_ok = stale <= settings.HOLDFAST_READY_MAX_BACKLOG
    except (OperationalError, InterfaceError, DatabaseError) as exc:
        checks["database"] = f"unavailable: {type(exc).__name__}"
        backlog_ok = False
    checks["broker"] = broker_state()
    checks["worker"] = worker_state() if checks["broker"] == "ok" else checks["broker"]
    # Reported, not required: without a deep worker, held posts simply stay with humans.
    checks["moderation_deep"] = moderation_deep_state(checks["broker"])
    ready = (
        checks["database"] == "ok"
        and checks["broker"] in ("ok", "eager")
        and checks["worker"] in ("ok", "eager")
        and backlog_ok
    )
    return JsonResponse({"status": "ready" if ready else "not ready", **checks}, status=200 if ready else 503)


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


@csrf_exempt  # it changes nothing; a CSRF refusal would be an HTML 403 instead of the 404
def api_not_found(request: HttpRequest) -> HttpResponse:
    """Any /api/ path no route matched: a JSON 404 even with DEBUG on, where Django would
    answer its HTML debugging page (handler404 only serves when DEBUG is off).

    Being a route itself, it keeps ``CommonMiddleware`` from adding a missing trailing
    slash, so it does that here, for the few API routes that end in one."""
    if settings.APPEND_SLASH and not request.path_info.endswith("/") and request.method in ("GET", "HEAD"):
        try:
            with_slash = resolve(request.path_info + "/", getattr(request, "urlconf", None))
        except Resolver404:
            with_slash = None
        if with_slash is not None and with_slash.func is not api_not_found:
            return HttpResponsePermanentRedirect(request.get_full_path(force_append_slash=True))
    if request.path_info.endswith("/") and len(request.path_info) > len("/api/"):
        # Mastodon's routes answer with or without a trailing slash, and clients use both
        # (Mastodon.py asks for /api/v1/instance/): serve the route without it, any method.
        try:
            without_slash = resolve(request.path_info.rstrip("/"), getattr(request, "urlconf", None))
        except Resolver404:
            without_slash = None
        if without_slash is not None and without_slash.func is not api_not_found:
            return without_slash.func(request, *without_slash.args, **without_slash.kwargs)
    if not request.path_info.startswith("/api/holdfast/"):
        # Mastodon's API paths (and any other unknown /api/ path): Mastodon's error shape.
        return JsonResponse({"error": "Record not found"}, status=404)
    return page_not_found(request)


def server_error(request):
    exc = sys.exc_info()[1]
    if isinstance(exc, OperationalError | InterfaceError):
        return service_unavailable(request, "The database is unavailable; try again shortly.")
    if wants_json(request):
        return JsonResponse({"detail": "Server error."}, status=500)
    return HttpResponse(render_to_string("errors/500.html"), status=500)


def login_locked_out(request, credentials=None, *args, **kwargs) -> HttpResponse:
    """django-axes lockout: a clear 429 that says when to try again."""
    from django.conf import settings as conf

    retry_after = int(float(conf.AXES_COOLOFF_TIME) * 3600)
    message = "Too many failed logins. Try again later or reset your password."
    if wants_json(request):
        response = JsonResponse({"detail": message}, status=429)
    else:
        response = HttpResponse(render_to_string("errors/429.html", {"retry_after": retry_after}), status=429)
    response["Retry-After"] = str(retry_after)
    return response
