"""OAuth 2 as Mastodon apps use it: the grants, scopes, revocation, and the site's rules
(suspension, rate limits) applying to OAuth tokens as to every other."""

import base64
import hashlib
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from rest_framework.test import APIClient

from microblog.mastodon.applications import register_app

REDIRECT = "https://app.example/callback"


@pytest.fixture
def app(db):
    return register_app(name="Test App", redirect_uris=REDIRECT, scopes="read write follow")


def _code(user, app, scope: str = "read write follow", **extra) -> str:
    web = Client()
    web.force_login(user)
    query = {"client_id": app.client_id, "redirect_uri": REDIRECT, "response_type": "code", "scope": scope}
    page = web.get("/oauth/authorize", {**query, **extra})
    assert page.status_code == 200, page.content[:500]
    assert app.name.encode() in page.content
    approved = web.post("/oauth/authorize", {**query, **extra, "allow": "on"})
    assert approved.status_code == 302, approved.content[:500]
    return parse_qs(urlsplit(approved["Location"]).query)["code"][0]


def _token(app, **data) -> dict:
    response = Client().post(
        "/oauth/token", {"client_id": app.client_id, "client_secret": app.plain_secret, **data}
    )
    assert response.status_code == 200, response.content
    return response.json()


def _api(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def test_authorization_code_with_pkce_then_refresh(alice, app):
    verifier = "v" * 64
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    code = _code(alice, app, code_challenge=challenge, code_challenge_method="S256")
    refused = Client().post(
        "/oauth/token",
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "client_id": app.client_id,
            "client_secret": app.plain_secret,
            "code_verifier": "w" * 64,
        },
    )
    assert refused.status_code == 400  # a wrong verifier: the code is worthless without the right one
    code = _code(alice, app, code_challenge=challenge, code_challenge_method="S256")
    token = _token(
        app, grant_type="authorization_code", code=code, redirect_uri=REDIRECT, code_verifier=verifier
    )
    assert token["token_type"] == "Bearer" and token["scope"] == "read write follow" and token["created_at"]
    assert (
        _api(token["access_token"]).get("/api/v1/accounts/verify_credentials").json()["username"] == "alice"
    )
    renewed = _token(app, grant_type="refresh_token", refresh_token=token["refresh_token"])
    assert _api(renewed["access_token"]).get("/api/v1/accounts/verify_credentials").status_code == 200


def test_client_credentials_token_registers_an_account(app, db):
    token = _token(app, grant_type="client_credentials", scope="read write")
    client = _api(token["access_token"])
    assert client.get("/api/v1/apps/verify_credentials").json()["name"] == "Test App"
    needs_user = client.get("/api/v1/accounts/verify_credentials")
    assert needs_user.status_code == 422 and "authenticated user" in needs_user.json()["error"]
    made = client.post(
        "/api/v1/accounts", {"username": "fromapp", "password": "a long passphrase"}, format="json"
    )
    assert made.status_code == 200, made.json()
    assert (
        _api(made.json()["access_token"]).get("/api/v1/accounts/verify_credentials").json()["username"]
        == "fromapp"
    )
    bad = client.post("/api/v1/accounts", {"username": "bad name!", "password": "x"}, format="json")
    assert bad.status_code == 422 and "letters" in bad.json()["error"]
    personal = APIClient()
    assert (
        personal.post("/api/v1/accounts", {"username": "x", "password": "y"}, format="json").status_code
        == 422
    )


def test_scopes_are_checked_per_endpoint(alice, app):
    code = _code(alice, app, scope="read")
    reader = _api(
        _token(app, grant_type="authorization_code", code=code, redirect_uri=REDIRECT)["access_token"]
    )
    assert reader.get("/api/v1/timelines/home").status_code == 200
    refused = reader.post("/api/v1/statuses", {"status": "no"}, format="json")
    assert (refused.status_code, refused.json()) == (
        403,
        {"error": "This action is outside the authorized scopes"},
    )
    granular = register_app(name="Granular", redirect_uris=REDIRECT, scopes="read:statuses write:statuses")
    code = _code(alice, granular, scope="read:statuses write:statuses")
    writer = _api(
        _token(granular, grant_type="authorization_code", code=code, redirect_uri=REDIRECT)["access_token"]
    )
    assert writer.post("/api/v1/statuses", {"status": "yes"}, format="json").status_code == 200
    assert writer.get("/api/v1/notifications").status_code == 403  # read:notifications not granted


def test_unknown_scope_and_wrong_redirect_are_refused(alice, app):
    web = Client()
    web.force_login(alice)
    query = {"client_id": app.client_id, "response_type": "code"}
    wrong = web.get("/oauth/authorize", {**query, "redirect_uri": "https://evil.example/", "scope": "read"})
    assert wrong.status_code == 400 and b"evil.example" not in wrong.get("Location", "").encode()
    unknown = web.get("/oauth/authorize", {**query, "redirect_uri": REDIRECT, "scope": "read admin:all"})
    assert unknown.status_code == 302 and "error=invalid_scope" in unknown["Location"]
    registered = APIClient().post(
        "/api/v1/apps", {"client_name": "x", "redirect_uris": "javascript:alert(1)"}, format="json"
    )
    assert registered.status_code == 422
    token = Client().post(
        "/oauth/token",
        {
            "grant_type": "password",
            "username": "alice",
            "password": "correct horse battery",
            "client_id": app.client_id,
            "client_secret": app.plain_secret,
        },
    )
    assert token.status_code == 400  # no password grant (RFC 9700; gone from Mastodon 4.4 too)


def test_revoked_and_suspended_tokens_stop_at_once(alice, bob, app, make_user):
    from moderation.services import accounts as account_actions

    code = _code(alice, app)
    token = _token(app, grant_type="authorization_code", code=code, redirect_uri=REDIRECT)["access_token"]
    client = _api(token)
    assert client.get("/api/v1/timelines/home").status_code == 200
    revoked = Client().post(
        "/oauth/revoke", {"token": token, "client_id": app.client_id, "client_secret": app.plain_secret}
    )
    assert (revoked.status_code, revoked.json()) == (200, {})
    assert client.get("/api/v1/timelines/home").status_code == 401

    code = _code(bob, app)
    bobs = _api(
        _token(app, grant_type="authorization_code", code=code, redirect_uri=REDIRECT)["access_token"]
    )
    assert bobs.get("/api/v1/accounts/verify_credentials").status_code == 200
    moderator = make_user("mod", is_superuser=True)
    account_actions.take_account_action(moderator, bob, "suspend", reason="tests")
    assert bobs.get("/api/v1/accounts/verify_credentials").status_code == 401


def test_rate_limits_count_oauth_tokens(alice, app, throttle_rates):
    throttle_rates(posting="2/min")
    code = _code(alice, app)
    client = _api(
        _token(app, grant_type="authorization_code", code=code, redirect_uri=REDIRECT)["access_token"]
    )
    codes = [client.post("/api/v1/statuses", {"status": f"n{i}"}, format="json") for i in range(3)]
    assert [c.status_code for c in codes] == [200, 200, 429]
    assert codes[-1].json() == {"error": "Too many requests"} and int(codes[-1]["Retry-After"]) > 0


def test_settings_lists_and_revokes_authorised_apps(alice, app):
    code = _code(alice, app)
    token = _token(app, grant_type="authorization_code", code=code, redirect_uri=REDIRECT)["access_token"]
    web = Client()
    web.force_login(alice)
    page = web.get("/settings/apps/")
    assert b"Test App" in page.content and b"follow, read, write" in page.content
    assert web.post("/settings/apps/", {"revoke": "999999"}).status_code == 302  # not hers: a message
    web.post("/settings/apps/", {"revoke": str(app.pk)})
    assert b"No apps have access" in web.get("/settings/apps/").content
    assert _api(token).get("/api/v1/timelines/home").status_code == 401
