"""OAuth applications: registering an app, and the apps a person has authorised.

The web Settings page, the Mastodon API (``POST /api/v1/apps``) and the tests call these;
django-oauth-toolkit stores the rows.
"""

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Min
from django.http import Http404
from oauth2_provider.generators import generate_client_secret
from oauth2_provider.models import (
    get_access_token_model,
    get_application_model,
    get_grant_model,
    get_refresh_token_model,
)

from .scopes import unknown_scopes

OUT_OF_BAND = "urn:ietf:wg:oauth:2.0:oob"
# Schemes that would run code in the browser instead of handing the code to an app.
FORBIDDEN_SCHEMES = {"javascript", "data", "vbscript", "file", "blob"}
MAX_REDIRECT_URIS = 10


def clean_scopes(raw: str | None) -> list[str]:
    scopes = (raw or "read").split()
    if unknown := unknown_scopes(scopes):
        raise ValidationError({"scopes": f"Unknown scope: {', '.join(unknown)}."})
    return list(dict.fromkeys(scopes))


def clean_redirect_uris(raw: str | list[str] | None) -> list[str]:
    if raw is not None and not isinstance(raw, str | list):
        raise ValidationError({"redirect_uris": "must be a URI or a list of URIs."})
    uris = raw.split() if isinstance(raw, str) else [u for item in (raw or []) for u in str(item).split()]
    if not uris:
        raise ValidationError({"redirect_uris": "Give at least one redirect URI."})
    if len(uris) > MAX_REDIRECT_URIS:
        raise ValidationError({"redirect_uris": f"At most {MAX_REDIRECT_URIS} redirect URIs."})
    for uri in uris:
        if uri == OUT_OF_BAND:
            continue
        parts = urlsplit(uri)
        if not parts.scheme or parts.scheme.lower() in FORBIDDEN_SCHEMES or "#" in uri or len(uri) > 2000:
            raise ValidationError({"redirect_uris": "must be a valid URI."})
        if parts.scheme in ("http", "https") and not parts.netloc:
            raise ValidationError({"redirect_uris": "must be a valid URI."})
    return uris


def register_app(*, name: str, redirect_uris, scopes: str | None = None, website: str = ""):
    """A new confidential app; returns it with its client secret in plain text (shown once)."""
    name = (name or "").strip()
    if not name or len(name) > 255:
        raise ValidationError({"client_name": "Give the app a name of 1 to 255 characters."})
    website = (website or "").strip()
    if website and (len(website) > 2000 or urlsplit(website).scheme not in ("http", "https")):
        raise ValidationError({"website": "must be an http or https URL."})
    Application = get_application_model()
    secret = generate_client_secret()
    app = Application(
        name=name,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=" ".join(clean_redirect_uris(redirect_uris)),
        client_secret=secret,
        skip_authorization=False,
    )
    app.website = website
    app.scopes = " ".join(clean_scopes(scopes))
    app.save()
    app.plain_secret = secret
    # The website and scopes live in the app's "algorithm"-free extra data: django-oauth-toolkit's
    # model has no such columns, so they are kept on our side (AppDetails).
    from .models import AppDetails

    AppDetails.objects.create(application=app, website=website, scopes=app.scopes)
    return app


@dataclass
class AuthorisedApp:
    application_id: int
    name: str
    website: str
    scopes: list[str]
    first_authorised: datetime
    last_authorised: datetime


def authorised_apps(user) -> list[AuthorisedApp]:
    """The apps holding a live token for ``user``, oldest authorisation first."""
    AccessToken = get_access_token_model()
    rows = (
        AccessToken.objects.filter(user=user)
        .values("application_id", "application__name")
        .annotate(first=Min("created"), last=Max("created"))
        .order_by("first")
    )
    apps = []
    for row in rows:
        scopes = sorted(
            {
                scope
                for text in AccessToken.objects.filter(
                    user=user, application_id=row["application_id"]
                ).values_list("scope", flat=True)
                for scope in text.split()
            }
        )
        website = (
            get_application_model()
            .objects.filter(pk=row["application_id"])
            .values_list("mastodon_details__website", flat=True)
            .first()
        )
        apps.append(
            AuthorisedApp(
                row["application_id"],
                row["application__name"],
                website or "",
                scopes,
                row["first"],
                row["last"],
            )
        )
    return apps


@transaction.atomic
def revoke_app(user, application_id: int) -> None:
    """Withdraw an app's access to ``user``'s account: every token and pending code, at once."""
    tokens = get_access_token_model().objects.filter(user=user, application_id=application_id)
    grants = get_grant_model().objects.filter(user=user, application_id=application_id)
    refresh = get_refresh_token_model().objects.filter(user=user, application_id=application_id)
    if not (tokens.exists() or grants.exists() or refresh.exists()):
        raise Http404("No such authorised app.")
    refresh.delete()
    tokens.delete()
    grants.delete()


def token_for_new_account(user, app_grant) -> dict:
    """A token for an account that just signed up through an app: the app's own scopes."""
    from datetime import timedelta

    from django.utils import timezone
    from oauth2_provider.generators import generate_client_secret as new_secret
    from oauth2_provider.models import set_token_value
    from oauth2_provider.settings import oauth2_settings

    raw = new_secret()[:43]
    token = get_access_token_model()(
        user=user,
        application_id=app_grant.application_id,
        expires=timezone.now() + timedelta(seconds=oauth2_settings.ACCESS_TOKEN_EXPIRE_SECONDS),
        scope=" ".join(sorted(app_grant.scopes)),
    )
    set_token_value(token, raw)  # stored as its hash only (RFC 9700 token storage)
    token.save()
    return {
        "access_token": raw,
        "token_type": "Bearer",
        "scope": token.scope,
        "created_at": int(token.created.timestamp()),
    }
