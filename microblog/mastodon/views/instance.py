"""Discovery: the instance, WebFinger, NodeInfo, app registration, and what apps call at
start-up that Holdfast has no use for (answered with Mastodon's empty or default values)."""

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET
from drf_spectacular.utils import extend_schema
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from microblog.accounts.models import User
from microblog.posts.models import Post

from .. import applications, entities, params, schema
from ..base import MastodonView

# Apps read the version to know which API to expect: Holdfast speaks Mastodon 4.3's.
MASTODON_API_VERSION = "4.3.0"
IMAGE_TYPES = ["image/jpeg", "image/png", "image/gif", "image/webp"]


def holdfast_version() -> str:
    try:
        return package_version("holdfast")
    except PackageNotFoundError:  # running from a checkout that was never installed
        return "0"


def _version() -> str:
    return f"{MASTODON_API_VERSION} (compatible; Holdfast {holdfast_version()})"


def _configuration(host: str) -> dict:
    return {
        "urls": {"streaming": f"wss://{host}"},
        "accounts": {"max_featured_tags": 0, "max_pinned_statuses": 0},
        "statuses": {
            "max_characters": settings.HOLDFAST_POST_MAX_LENGTH,
            "max_media_attachments": settings.HOLDFAST_MAX_ATTACHMENTS,
            "characters_reserved_per_url": 23,
        },
        "media_attachments": {
            "supported_mime_types": IMAGE_TYPES,
            "image_size_limit": settings.HOLDFAST_MAX_IMAGE_BYTES,
            "image_matrix_limit": settings.HOLDFAST_MAX_IMAGE_PIXELS,
            "video_size_limit": 0,
            "video_frame_rate_limit": 0,
            "video_matrix_limit": 0,
        },
        "polls": {"max_options": 0, "max_characters_per_option": 0, "min_expiration": 0, "max_expiration": 0},
        "translation": {"enabled": False},
    }


class InstanceV1View(MastodonView):
    public_methods = ("GET",)
    authentication_classes = []

    @extend_schema(responses=schema.ok(schema.OBJECT), tags=["instance"])
    def get(self, request: Request) -> Response:
        host = request.get_host()
        configuration = _configuration(host)
        return Response(
            {
                "uri": host,
                "title": settings.HOLDFAST_SITE_NAME,
                "short_description": f"{settings.HOLDFAST_SITE_NAME}, a Holdfast community",
                "description": "",
                "email": "",
                "version": _version(),
                "urls": {"streaming_api": configuration["urls"]["streaming"]},
                "stats": {
                    "user_count": User.objects.filter(is_active=True).count(),
                    "status_count": Post.objects.filter(deleted_at__isnull=True).count(),
                    "domain_count": 0,
                },
                "thumbnail": None,
                "languages": ["en"],
                "registrations": True,
                "approval_required": False,
                "invites_enabled": False,
                "configuration": configuration,
                "contact_account": None,
                "rules": [],
            }
        )


class InstanceV2View(MastodonView):
    public_methods = ("GET",)
    authentication_classes = []

    @extend_schema(responses=schema.ok(schema.OBJECT), tags=["instance"])
    def get(self, request: Request) -> Response:
        host = request.get_host()
        return Response(
            {
                "domain": host,
                "title": settings.HOLDFAST_SITE_NAME,
                "version": _version(),
                "source_url": "https://github.com/holdfast/holdfast",
                "description": f"{settings.HOLDFAST_SITE_NAME}, a Holdfast community",
                "usage": {"users": {"active_month": User.objects.filter(is_active=True).count()}},
                "thumbnail": {"url": entities.for_request(request).default_avatar},
                "languages": ["en"],
                "configuration": _configuration(host),
                "registrations": {"enabled": True, "approval_required": False, "message": None},
                "contact": {"email": "", "account": None},
                "rules": [],
                "api_versions": {"mastodon": 2},
            }
        )


class AppsView(MastodonView):
    public_methods = ("POST",)
    authentication_classes = []
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    @extend_schema(
        request={
            "application/json": {
                "type": "object",
                "properties": {
                    "client_name": {"type": "string"},
                    "redirect_uris": {"type": "string"},
                    "scopes": {"type": "string"},
                    "website": {"type": "string"},
                },
                "required": ["client_name", "redirect_uris"],
            }
        },
        responses=schema.ok(schema.APPLICATION),
        tags=["apps"],
    )
    def post(self, request: Request) -> Response:
        data = params.as_object(request.data)
        redirect = data.getlist("redirect_uris[]") if hasattr(data, "getlist") else []
        app = applications.register_app(
            name=params.text(data, "client_name", max_length=255) or "",
            redirect_uris=redirect or data.get("redirect_uris"),
            scopes=params.text(data, "scopes", default=None, max_length=2000),
            website=params.text(data, "website", max_length=2000) or "",
        )
        uris = app.redirect_uris.split()
        return Response(
            {
                "id": str(app.pk),
                "name": app.name,
                "website": app.mastodon_details.website or None,
                "scopes": app.mastodon_details.scopes.split(),
                "redirect_uri": "\n".join(uris),
                "redirect_uris": uris,
                "client_id": app.client_id,
                "client_secret": app.plain_secret,
                "client_secret_expires_at": 0,
                "vapid_key": "",
            }
        )


class VerifyAppView(MastodonView):
    public_methods = ("GET",)

    @extend_schema(responses=schema.ok(schema.OBJECT), tags=["apps"])
    def get(self, request: Request) -> Response:
        from oauth2_provider.models import get_application_model

        grant = request.auth
        if getattr(grant, "kind", None) != "oauth":
            from rest_framework.exceptions import NotAuthenticated

            raise NotAuthenticated
        app = get_application_model().objects.select_related("mastodon_details").get(pk=grant.application_id)
        details = getattr(app, "mastodon_details", None)
        return Response(
            {
                "name": app.name,
                "website": (details.website if details else "") or None,
                "scopes": details.scopes.split() if details else ["read"],
                "redirect_uris": app.redirect_uris.split(),
                "redirect_uri": "\n".join(app.redirect_uris.split()),
                "vapid_key": "",
            }
        )


class DefaultValueView(MastodonView):
    """An endpoint apps call that Holdfast has nothing for: Mastodon's empty answer."""

    value: object = ()
    required_scopes = {"GET": "read"}

    @extend_schema(responses=schema.ok(schema.LIST), tags=["defaults"])
    def get(self, request: Request, **kwargs) -> Response:
        return Response(list(self.value) if isinstance(self.value, tuple) else self.value)


class PreferencesView(MastodonView):
    required_scopes = {"GET": "read:accounts"}

    @extend_schema(responses=schema.ok(schema.OBJECT), tags=["defaults"])
    def get(self, request: Request) -> Response:
        return Response(
            {
                "posting:default:visibility": "public",
                "posting:default:sensitive": False,
                "posting:default:language": None,
                "reading:expand:media": "default",
                "reading:expand:spoilers": False,
            }
        )


@require_GET
def webfinger(request: HttpRequest) -> JsonResponse:
    """``acct:name@host`` for local accounts (and their profile URL)."""
    resource = request.GET.get("resource", "")
    host = request.get_host()
    name = ""
    if resource.startswith("acct:"):
        name, _, domain = resource[5:].lstrip("@").partition("@")
        if domain and domain.lower() != host.lower():
            name = ""
    elif resource.startswith(("http://", "https://")):
        name = resource.rstrip("/").rsplit("/@", 1)[-1] if "/@" in resource else ""
    if not resource:
        return JsonResponse({"error": "resource is missing"}, status=400)
    user = User.objects.filter(username__iexact=name, is_active=True).first() if name else None
    if user is None:
        return JsonResponse({"error": "Record not found"}, status=404)
    profile = request.build_absolute_uri(user.get_absolute_url())
    response = JsonResponse(
        {
            "subject": f"acct:{user.username}@{host}",
            "aliases": [profile],
            "links": [{"rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": profile}],
        }
    )
    response["Content-Type"] = "application/jrd+json"
    return response


@require_GET
def nodeinfo_links(request: HttpRequest) -> JsonResponse:
    return JsonResponse(
        {
            "links": [
                {
                    "rel": "http://nodeinfo.diaspora.software/ns/schema/2.0",
                    "href": request.build_absolute_uri("/nodeinfo/2.0"),
                }
            ]
        }
    )


@require_GET
def nodeinfo(request: HttpRequest) -> JsonResponse:
    users = User.objects.filter(is_active=True).count()
    return JsonResponse(
        {
            "version": "2.0",
            "software": {"name": "holdfast", "version": holdfast_version()},
            "protocols": [],  # Holdfast does not federate
            "services": {"inbound": [], "outbound": []},
            "openRegistrations": True,
            "usage": {
                "users": {"total": users, "activeMonth": users, "activeHalfyear": users},
                "localPosts": Post.objects.filter(deleted_at__isnull=True, repost_of__isnull=True).count(),
            },
            "metadata": {"nodeName": settings.HOLDFAST_SITE_NAME},
        }
    )
