"""``Authorization: Bearer <token>``: a personal access token (``hf_…``, made on the
Settings page) or an OAuth 2 access token an app obtained at /oauth/token.

Both end in the same place: the active account (a suspended account's tokens stop working
at once, as ``is_active`` is checked on every request) and ``request.auth`` holding a
``GrantedToken`` whose scopes the Mastodon endpoints check. A personal token carries every
scope: its owner made it by hand for their own scripts.
"""

import hashlib
from dataclasses import dataclass

from django.db import connection
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from microblog.accounts.models import AccessToken, User
from microblog.accounts.services import user_for_token
from microblog.rows import model_columns

ALL_SCOPES = frozenset({"read", "write", "follow", "push"})


@dataclass(frozen=True)
class GrantedToken:
    """What a request's bearer token allows: ``kind`` is "personal" or "oauth"."""

    kind: str
    scopes: frozenset[str]
    application_id: int | None = None
    token_id: int | None = None


def oauth_token_owner(raw: str) -> tuple[User | None, GrantedToken] | None:
    """The account and scopes of an unexpired OAuth access token, or None.

    One plain query by the token's checksum (django-oauth-toolkit's indexed lookup column),
    like the personal-token lookup: oauthlib's own validation path costs several times more.
    ``User`` is None for an app's client-credentials token, which acts for no account.
    """
    from oauth2_provider.models import get_access_token_model

    tokens, users = get_access_token_model()._meta.db_table, User._meta.db_table
    columns = model_columns(User, "u", connection.vendor)
    checksum = hashlib.sha256(raw.encode()).hexdigest()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT t.id, t.scope, t.application_id, t.user_id, {columns.select} "  # noqa: S608 - model tables
            f"FROM {tokens} t LEFT JOIN {users} u ON u.id = t.user_id "
            "WHERE t.token_checksum = %s AND t.expires > %s",
            [checksum, timezone.now()],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    token_id, scope, application_id, user_id, *values = row
    granted = GrantedToken("oauth", frozenset(scope.split()), application_id, token_id)
    if user_id is None:
        return None, granted
    user = columns.load(values, connection.alias)
    if not user.is_active:  # suspended: the token stops working with the account
        return None
    return user, granted


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Send the header as 'Authorization: Bearer <token>'.")
        try:
            raw = header[1].decode()
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("The access token is invalid") from None
        if raw.startswith(AccessToken.PREFIX):
            user = user_for_token(raw)
            if user is not None:
                return user, GrantedToken("personal", ALL_SCOPES)
        else:
            found = oauth_token_owner(raw)
            if found is not None:
                user, granted = found
                if user is None:  # an app token: anonymous, but the app is known
                    from django.contrib.auth.models import AnonymousUser

                    return AnonymousUser(), granted
                return user, granted
        raise exceptions.AuthenticationFailed("The access token is invalid")

    def authenticate_header(self, request) -> str:
        return f'{self.keyword} realm="api"'


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "microblog.api.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An OAuth 2 access token (/oauth/token) or a personal access token.",
        }
