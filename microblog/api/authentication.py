from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from microblog.accounts.services import user_for_token


class AccessTokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer <personal access token>`` (created on the settings page)."""

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
            raise exceptions.AuthenticationFailed("The token is not valid.") from None
        user = user_for_token(raw)
        if user is None:
            raise exceptions.AuthenticationFailed("The token is not valid or has been revoked.")
        return user, raw

    def authenticate_header(self, request) -> str:
        return f'{self.keyword} realm="api"'


class AccessTokenScheme(OpenApiAuthenticationExtension):
    target_class = "microblog.api.authentication.AccessTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "A personal access token."}
