"""OAuth 2 as Mastodon apps expect it, on django-oauth-toolkit.

- Every registered app may use the authorization-code (with or without PKCE),
  client-credentials and refresh-token grants, as on Mastodon (django-oauth-toolkit ties an
  app to one grant type).
- An app asks for no more than the scopes it registered.
- Apps come back through their own URI schemes (``oauth2redirect://…``); toot's
  out-of-band URI gets a page showing the code to paste.
- The token response carries ``created_at``, which Mastodon sends and some apps read.
"""

import json
import time
from urllib.parse import parse_qs, urlsplit

from django.shortcuts import render
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from oauth2_provider import views as oauth_views
from oauth2_provider.http import OAuth2ResponseRedirect
from oauth2_provider.oauth2_validators import OAuth2Validator

from .applications import FORBIDDEN_SCHEMES, OUT_OF_BAND
from .scopes import SCOPE_DESCRIPTIONS

MASTODON_GRANTS = {"authorization_code", "client_credentials", "refresh_token"}


class MastodonOAuth2Validator(OAuth2Validator):
    def validate_grant_type(self, client_id, grant_type, client, request, *args, **kwargs) -> bool:
        return grant_type in MASTODON_GRANTS

    def validate_scopes(self, client_id, scopes, client, request, *args, **kwargs) -> bool:
        registered = set(_registered_scopes(client))
        return all(scope in SCOPE_DESCRIPTIONS for scope in scopes) and set(scopes) <= registered

    def get_default_scopes(self, client_id, request, *args, **kwargs) -> list[str]:
        return _registered_scopes(request.client)[:1] or ["read"]


def _registered_scopes(client) -> list[str]:
    details = getattr(client, "mastodon_details", None)
    return details.scopes.split() if details else ["read"]


def _redirect(redirect_to: str) -> OAuth2ResponseRedirect:
    scheme = urlsplit(redirect_to).scheme.lower()
    allowed = [] if scheme in FORBIDDEN_SCHEMES else [scheme]
    return OAuth2ResponseRedirect(redirect_to, allowed)


class AuthorizeView(oauth_views.AuthorizationView):
    """The page where a logged-in person sees the app and its scopes and approves or denies."""

    template_name = "mastodon/authorize.html"

    def redirect(self, redirect_to, application):
        if redirect_to.startswith(OUT_OF_BAND):
            query = parse_qs(urlsplit(redirect_to).query)
            return render(
                self.request,
                "mastodon/authorize_code.html",
                {
                    "application": application,
                    "code": query.get("code", [""])[0],
                    "error": query.get("error", [""])[0],
                    "error_description": query.get("error_description", [""])[0],
                    "title": "Authorisation code",
                },
            )
        return _redirect(redirect_to)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["title"] = "Authorise an app"
        return context


@method_decorator(csrf_exempt, name="dispatch")
class TokenView(oauth_views.TokenView):
    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        if response.status_code == 200 and response.get("Content-Type", "").startswith("application/json"):
            body = json.loads(response.content)
            body.setdefault("created_at", int(time.time()))
            response.content = json.dumps(body)
        return response


@method_decorator(csrf_exempt, name="dispatch")
class RevokeView(oauth_views.RevokeTokenView):
    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        if response.status_code == 200 and not response.content:
            # Mastodon answers an empty JSON object, and clients parse it.
            response.content, response["Content-Type"] = b"{}", "application/json"
        return response
