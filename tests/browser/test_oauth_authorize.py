"""The OAuth authorize page in a real browser: log in, see the app and what it asks for,
approve (the app gets a code) or deny (it gets access_denied); then withdraw the app's
access on Settings -> Authorised apps, which stops its token at once."""

import re
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.test import Client
from playwright.sync_api import Page, expect
from rest_framework.test import APIClient

from microblog.accounts.models import User
from microblog.mastodon.applications import register_app

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "a long passphrase 42"


def _authorize_url(base: str, app, redirect: str, scope: str = "read write") -> str:
    query = {"client_id": app.client_id, "redirect_uri": redirect, "response_type": "code", "scope": scope}
    return f"{base}/oauth/authorize?{urlencode(query)}"


def _log_in(page: Page, username: str) -> None:
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_approve_then_revoke_on_settings(page: Page, live_server):
    base = live_server.url
    User.objects.create_user("appuser", password=PASSWORD)
    redirect = f"{base}/app-callback"
    app = register_app(
        name="Harbour App", redirect_uris=redirect, scopes="read write", website="https://app.example"
    )

    page.goto(_authorize_url(base, app, redirect))
    _log_in(page, "appuser")  # the authorize page asks for a login first, then comes back
    expect(page.get_by_role("heading", name="Authorise Harbour App?")).to_be_visible()
    expect(page.locator("#main").get_by_text("@appuser")).to_be_visible()
    expect(
        page.get_by_role("listitem").filter(has_text="Read everything your account can see")
    ).to_be_visible()
    with page.expect_request(lambda request: request.url.startswith(redirect)) as sent:
        page.get_by_role("button", name="Authorise").click()
    code = parse_qs(urlsplit(sent.value.url).query)["code"][0]

    token = (
        Client()
        .post(
            "/oauth/token",
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect,
                "client_id": app.client_id,
                "client_secret": app.plain_secret,
            },
        )
        .json()
    )
    assert token["scope"] == "read write" and token["token_type"] == "Bearer"
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token['access_token']}")
    assert api.get("/api/v1/accounts/verify_credentials").json()["username"] == "appuser"

    page.goto(f"{base}/settings/apps/")
    row = page.get_by_role("row").filter(has_text="Harbour App")
    expect(row).to_contain_text("read, write")
    row.get_by_role("button", name="Revoke Harbour App").click()
    expect(page.get_by_text("Access withdrawn")).to_be_visible()
    expect(page.get_by_text("No apps have access to your account.")).to_be_visible()
    assert api.get("/api/v1/accounts/verify_credentials").status_code == 401


def test_deny_sends_the_app_away_empty_handed(page: Page, live_server):
    base = live_server.url
    User.objects.create_user("careful", password=PASSWORD)
    redirect = f"{base}/app-callback"
    app = register_app(name="Nosy App", redirect_uris=redirect, scopes="read")
    page.goto(_authorize_url(base, app, redirect, scope="read"))
    _log_in(page, "careful")
    expect(page.get_by_role("heading", name="Authorise Nosy App?")).to_be_visible()
    with page.expect_request(lambda request: request.url.startswith(redirect)) as sent:
        page.get_by_role("button", name="Deny").click()
    query = parse_qs(urlsplit(sent.value.url).query)
    assert query["error"] == ["access_denied"] and "code" not in query


def test_out_of_band_code_page_and_a_refused_scope(page: Page, live_server):
    base = live_server.url
    User.objects.create_user("cli", password=PASSWORD)
    app = register_app(name="Terminal", redirect_uris="urn:ietf:wg:oauth:2.0:oob", scopes="read")
    page.goto(_authorize_url(base, app, "urn:ietf:wg:oauth:2.0:oob", scope="read"))
    _log_in(page, "cli")
    page.get_by_role("button", name="Authorise").click()
    expect(page.get_by_role("heading", name="Authorisation code")).to_be_visible()
    expect(page.locator("#authorization-code")).to_have_text(re.compile(r"^\S{20,}$"))
    # Asking for more than the app registered is refused on the page, not granted.
    page.goto(_authorize_url(base, app, "urn:ietf:wg:oauth:2.0:oob", scope="read write"))
    expect(page.get_by_role("heading", name="This app cannot be authorised")).to_be_visible()
