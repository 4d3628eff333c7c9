"""What every Mastodon endpoint shares: errors in Mastodon's shape, scope checks, paging."""

from django.core.exceptions import PermissionDenied, RequestDataTooBig, ValidationError
from django.http import Http404
from rest_framework import exceptions, permissions, status
from rest_framework.exceptions import ValidationError as DRFValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from microblog.api.authentication import GrantedToken
from microblog.errors import ServiceUnavailable
from microblog.ids import MAX_OBJECT_ID

from . import entities
from .scopes import token_allows

INVALID_TOKEN = "The access token is invalid"  # noqa: S105 - a message, not a secret
OUTSIDE_SCOPES = "This action is outside the authorized scopes"
NEEDS_USER = "This method requires an authenticated user"


def _flatten(detail) -> list[str]:
    """Messages for Mastodon's one-line error: "Field message", or the message alone where
    it is a sentence of its own (starts with a capital)."""
    if isinstance(detail, dict):
        return [
            message
            if name in ("non_field_errors", "__all__") or message[:1].isupper()
            else f"{name.replace('_', ' ').capitalize()} {message}"
            for name, value in detail.items()
            for message in _flatten(value)
        ]
    if isinstance(detail, list | tuple):
        return [message for item in detail for message in _flatten(item)]
    return [str(detail)]


def _details(detail) -> dict:
    if isinstance(detail, dict):
        return {
            name: [{"error": "ERR_INVALID", "description": m} for m in _flatten(value)]
            for name, value in detail.items()
        }
    return {}


def mastodon_exception_handler(exc, context) -> Response | None:
    """Mastodon's error shape, ``{"error": "…"}``, with the status codes Mastodon uses:
    401 bad or missing token, 403 outside the token's scopes or not allowed, 404 no such
    record (or not visible), 422 invalid input, 429 rate limited, 503 unavailable."""
    if isinstance(exc, Http404 | exceptions.NotFound):
        return Response({"error": "Record not found"}, status=status.HTTP_404_NOT_FOUND)
    if isinstance(exc, ValidationError | DRFValidationError):
        detail = (
            exc.message_dict
            if hasattr(exc, "error_dict")
            else getattr(exc, "detail", exc.messages if hasattr(exc, "messages") else str(exc))
        )
        messages = _flatten(detail)
        return Response(
            {"error": "Validation failed: " + ", ".join(messages), "details": _details(detail)},
            status=status.HTTP_422_UNPROCESSABLE_ENTITY,
        )
    if isinstance(exc, PermissionDenied | exceptions.PermissionDenied):
        message = str(getattr(exc, "detail", "") or exc) or "This action is not allowed"
        return Response({"error": message}, status=status.HTTP_403_FORBIDDEN)
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        return Response(
            {"error": INVALID_TOKEN},
            status=status.HTTP_401_UNAUTHORIZED,
            headers={"WWW-Authenticate": 'Bearer realm="api"'},
        )
    if isinstance(exc, exceptions.Throttled):
        return Response(
            {"error": "Too many requests"},
            status=status.HTTP_429_TOO_MANY_REQUESTS,
            headers={"Retry-After": str(int(exc.wait or 60))},
        )
    if isinstance(exc, RequestDataTooBig):
        return Response(
            {"error": "The request body is too large"}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
        )
    if isinstance(exc, ServiceUnavailable):
        return Response(
            {"error": exc.message},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(exc.retry_after)},
        )
    if isinstance(exc, exceptions.APIException):
        return Response({"error": str(exc.detail)}, status=exc.status_code)
    return None


class MastodonScopes(permissions.BasePermission):
    """The endpoint's scope for the request's method, checked against the token's grant.

    ``required_scopes`` maps a method to the granular scope it needs; ``public_methods``
    lists the methods anyone may call without a token (reading public posts). A session
    (the site itself, Swagger UI) is a person acting directly and has every scope.
    """

    def has_permission(self, request: Request, view) -> bool:
        method = request.method.upper()
        needed = view.required_scopes.get(method) or view.required_scopes.get("*")
        grant = request.auth if isinstance(request.auth, GrantedToken) else None
        if method in view.public_methods or method == "OPTIONS":
            if grant is not None and needed and not token_allows(grant.scopes, needed):
                raise exceptions.PermissionDenied(OUTSIDE_SCOPES)
            return True
        if not request.user or not request.user.is_authenticated:
            if grant is not None:  # an app's own token, acting for nobody
                raise exceptions.ValidationError(NEEDS_USER)
            raise exceptions.NotAuthenticated(INVALID_TOKEN)
        if grant is not None and needed and not token_allows(grant.scopes, needed):
            raise exceptions.PermissionDenied(OUTSIDE_SCOPES)
        return True


class MastodonView(APIView):
    permission_classes = [MastodonScopes]
    required_scopes: dict[str, str] = {}
    public_methods: tuple[str, ...] = ()

    def get_exception_handler(self):
        return mastodon_exception_handler

    def context(self) -> entities.Context:
        return entities.for_request(self.request)


# Paging ---------------------------------------------------------------------------------------


def id_param(request: Request, name: str) -> int | None:
    """An id query parameter; Mastodon's ids are strings of digits. Out of range reads as absent
    past the newest (max_id) or before the oldest (since_id/min_id) object."""
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return None
    if not raw.isdigit():
        raise DRFValidationError({name: "must be an id"})
    return min(int(raw), MAX_OBJECT_ID + 1)


def limit_param(request: Request, default: int = 20, maximum: int = 40) -> int:
    raw = request.query_params.get("limit")
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise DRFValidationError({"limit": "must be a number"}) from None
    return max(1, min(value, maximum))  # Mastodon clamps rather than refuses


class Range:
    """Mastodon's paging parameters: ``max_id`` (older than), ``since_id`` (newer than,
    newest first), ``min_id`` (right after, oldest of them first), ``limit``."""

    def __init__(self, request: Request, default_limit: int = 20, max_limit: int = 40) -> None:
        self.max_id = id_param(request, "max_id")
        self.since_id = id_param(request, "since_id")
        self.min_id = id_param(request, "min_id")
        self.limit = limit_param(request, default_limit, max_limit)

    @property
    def after(self) -> int | None:
        return self.min_id if self.min_id is not None else self.since_id

    @property
    def oldest_first(self) -> bool:
        return self.min_id is not None


def link_header(request: Request, newest_id, oldest_id, *, has_older: bool = True) -> str | None:
    """Mastodon's ``Link`` header: ``next`` pages to older items, ``prev`` to newer ones."""
    if newest_id is None:
        return None
    params = request.query_params.copy()
    for name in ("max_id", "since_id", "min_id"):
        params.pop(name, None)
    links = []
    if has_older:
        older = params.copy()
        older["max_id"] = str(oldest_id)
        links.append(f'<{request.build_absolute_uri(request.path)}?{older.urlencode()}>; rel="next"')
    newer = params.copy()
    newer["min_id"] = str(newest_id)
    links.append(f'<{request.build_absolute_uri(request.path)}?{newer.urlencode()}>; rel="prev"')
    return ", ".join(links)


def paged(request: Request, data: list, newest_id, oldest_id, *, has_older: bool = True) -> Response:
    response = Response(data)
    header = link_header(request, newest_id, oldest_id, has_older=has_older)
    if header:
        response["Link"] = header
    return response
