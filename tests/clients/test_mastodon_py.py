"""Mastodon.py, the reference Python client, through the whole OAuth flow and every
endpoint group, checking what the library parses (its typed entities, its pagination)."""

import io

import pytest
import requests
from mastodon import (
    Mastodon,
    MastodonAPIError,
    MastodonIllegalArgumentError,
    MastodonNotFoundError,
    MastodonUnauthorizedError,
)
from PIL import Image

from .conftest import Browser, sign_up

REDIRECT = "http://127.0.0.1/callback"
SCOPES = ["read", "write", "follow"]


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (20, 120, 200)).save(out, format="PNG")
    return out.getvalue()


def _logged_in_client(holdfast, username: str, scopes=SCOPES, redirect: str = REDIRECT) -> Mastodon:
    """Register an app, send the person to the authorize page, trade the code for a token."""
    client_id, client_secret = Mastodon.create_app(
        f"client-test-{username}", scopes=scopes, redirect_uris=redirect, api_base_url=holdfast.url
    )
    app = Mastodon(client_id, client_secret, api_base_url=holdfast.url, version_check_mode="created")
    url = app.auth_request_url(redirect_uris=redirect, scopes=scopes, allow_http=True)
    code = Browser(holdfast.url, username).code_for(url)
    app.log_in(code=code, redirect_uri=redirect, scopes=scopes, allow_http=True)
    return app


@pytest.fixture(scope="module")
def people(holdfast):
    for name in ("mpy_alice", "mpy_bob"):
        sign_up(holdfast.url, name)
    return _logged_in_client(holdfast, "mpy_alice"), _logged_in_client(holdfast, "mpy_bob")


def test_instance_and_version_as_the_library_reads_them(holdfast, people):
    alice, _ = people
    assert alice.retrieve_mastodon_version().startswith("4.")
    instance = alice.instance_v2()
    assert instance.configuration.statuses.max_characters == 500
    assert alice.instance_v1().uri == "127.0.0.1" or alice.instance_v1().uri.startswith("127.0.0.1")
    assert alice.app_verify_credentials().name == "client-test-mpy_alice"


def test_posting_reading_and_editing(people):
    alice, bob = people
    me = alice.account_verify_credentials()
    assert me.username == "mpy_alice" and me.acct == "mpy_alice"
    media = alice.media_post(_png(), mime_type="image/png", description="blue")
    assert media.type == "image" and media.description == "blue"
    media = alice.media_update(media, description="a blue rectangle")
    assert media.description == "a blue rectangle"
    status = alice.status_post(
        "Hello from Mastodon.py #clients", media_ids=[media], idempotency_key="mpy-1", visibility="public"
    )
    assert status.account.id == me.id and status.media_attachments[0].description == "a blue rectangle"
    assert status.created_at.year >= 2024  # parsed into a datetime by the library
    again = alice.status_post(
        "Hello from Mastodon.py #clients", media_ids=[media], idempotency_key="mpy-1", visibility="public"
    )
    assert again.id == status.id
    with pytest.raises(MastodonAPIError):
        alice.status_post("something else", idempotency_key="mpy-1")
    assert alice.status(status.id).id == status.id
    edited = alice.status_update(status.id, "Hello again from Mastodon.py #clients")
    assert edited.edited_at is not None
    assert len(alice.status_history(status.id)) == 2
    assert alice.status_source(status.id).text == "Hello again from Mastodon.py #clients"
    reply = bob.status_post("a reply", in_reply_to_id=status.id)
    context = alice.status_context(status.id)
    assert [s.id for s in context.descendants] == [reply.id]
    assert bob.status_context(reply.id).ancestors[0].id == status.id
    tagged = alice.timeline_hashtag("clients")
    assert tagged[0].id == status.id
    found = bob.search_v2("Mastodon.py", result_type="statuses")
    assert status.id in [s.id for s in found.statuses]
    assert "mpy_bob" in [a.acct for a in alice.account_search("mpy_b")]
    gone = bob.status_delete(reply.id)
    assert gone.text == "a reply"
    with pytest.raises(MastodonNotFoundError):
        bob.status(reply.id)
    with pytest.raises(MastodonAPIError):
        bob.status_post("x" * 501)
    with pytest.raises(MastodonAPIError):
        bob.status_post("secret", visibility="direct")


def test_social_graph_and_notifications(people):
    alice, bob = people
    alice_me, bob_me = alice.me(), bob.me()
    relationship = bob.account_follow(alice_me.id)
    assert relationship.following is True
    assert bob.account_relationships(alice_me.id)[0].following is True
    assert alice.account_lookup("mpy_bob").id == bob_me.id
    assert [a.id for a in alice.account_followers(alice_me.id)] == [bob_me.id]
    post = alice.status_post("fave this")
    bob.status_favourite(post.id)
    reblogged = bob.status_reblog(post.id)
    assert reblogged.reblog.id == post.id
    assert bob.status_bookmark(post.id).bookmarked is True
    assert post.id in [s.id for s in bob.bookmarks()]
    assert [a.id for a in alice.status_favourited_by(post.id)] == [bob_me.id]
    assert [a.id for a in alice.status_reblogged_by(post.id)] == [bob_me.id]
    home = bob.timeline_home()
    assert any(s.reblog and s.reblog.id == post.id for s in home)
    notifications = alice.notifications()
    types = {n.type for n in notifications}
    assert {"follow", "favourite", "reblog", "mention"} <= types
    only_follows = alice.notifications(types=["follow"])
    assert {n.type for n in only_follows} == {"follow"}
    assert alice.notifications(id=only_follows[0].id).id == only_follows[0].id
    alice.markers_set("notifications", notifications[0].id)
    assert alice.markers_get("notifications").notifications.last_read_id == notifications[0].id
    alice.notifications_dismiss(only_follows[0].id)
    assert only_follows[0].id not in [n.id for n in alice.notifications()]
    alice.notifications_clear()
    assert alice.notifications() == []
    assert bob.account_mute(alice_me.id).muting is True
    assert [a.id for a in bob.mutes()] == [alice_me.id]
    bob.account_unmute(alice_me.id)
    assert bob.account_block(alice_me.id).blocking is True
    assert [a.id for a in bob.blocks()] == [alice_me.id]
    bob.account_unblock(alice_me.id)
    report = bob.report(alice_me.id, status_ids=[post.id], comment="testing reports", category="spam")
    assert report.target_account.id == alice_me.id


def test_pagination_follows_link_headers(people):
    alice, _ = people
    for i in range(5):
        alice.status_post(f"page me {i} #pages")
    first = alice.timeline_hashtag("pages", limit=2)
    seen = [s.content for s in first]
    page = first
    while (page := alice.fetch_next(page)) is not None and len(page):
        seen += [s.content for s in page]
    assert len(seen) == 5 and "page me 4" in seen[0] and "page me 0" in seen[-1]
    newer = alice.fetch_previous(alice.timeline_hashtag("pages", limit=2, max_id=first[-1].id))
    assert [s.id for s in newer] == [s.id for s in first]
    statuses = alice.account_statuses(alice.me().id, exclude_replies=True, limit=3)
    assert len(statuses) == 3


def test_startup_calls_answer_defaults(people):
    alice, _ = people
    assert alice.filters_v2() == []
    assert alice.lists() == []
    assert alice.conversations() == []
    assert alice.announcements() == []
    assert alice.trending_tags() == []
    assert alice.custom_emojis() == []
    assert alice.follow_requests() == []
    assert alice.preferences()["posting:default:visibility"] == "public"


def test_another_users_token_changes_nothing_of_mine(people):
    alice, bob = people
    post = alice.status_post("only I may change this")
    with pytest.raises(MastodonAPIError) as refused:
        bob.status_update(post.id, "changed by bob")
    assert refused.value.args[1] == 403
    with pytest.raises(MastodonAPIError):
        bob.status_delete(post.id)
    media = alice.media_post(_png(), mime_type="image/png")
    with pytest.raises(MastodonNotFoundError):
        bob.media_update(media.id, description="bob's words")
    assert alice.status(post.id).content.startswith("<p>only I may change this")


def test_read_only_token_cannot_write(holdfast, people):
    reader = _logged_in_client(holdfast, "mpy_alice", scopes=["read"])
    assert reader.timeline_home() is not None
    with pytest.raises(MastodonAPIError) as refused:
        reader.status_post("not allowed")
    assert refused.value.args[1] == 403


def test_revoked_token_stops_working_at_once(holdfast, people):
    app = _logged_in_client(holdfast, "mpy_bob")
    assert app.account_verify_credentials().username == "mpy_bob"
    app.revoke_access_token()
    with pytest.raises(MastodonUnauthorizedError):
        app.account_verify_credentials()


def test_oauth_refuses_an_unknown_scope_and_a_wrong_redirect(holdfast):
    # Mastodon.py reads the answer to create_app without checking its status: ask directly.
    refused = requests.post(
        f"{holdfast.url}/api/v1/apps",
        json={"client_name": "bad scope", "redirect_uris": REDIRECT, "scopes": "read admin:everything"},
        timeout=10,
    )
    assert refused.status_code == 422 and "admin:everything" in refused.json()["error"]
    client_id, client_secret = Mastodon.create_app(
        "wrong redirect", scopes=["read"], redirect_uris=REDIRECT, api_base_url=holdfast.url
    )
    app = Mastodon(client_id, client_secret, api_base_url=holdfast.url)
    url = app.auth_request_url(redirect_uris="http://evil.example/steal", scopes=["read"], allow_http=True)
    page = Browser(holdfast.url, "mpy_alice").session.get(url, timeout=10)
    assert page.status_code == 400 and "evil.example" not in page.headers.get("Location", "")
    with pytest.raises(MastodonIllegalArgumentError, match="invalid_grant"):
        app.log_in(code="not-a-code", redirect_uri=REDIRECT, scopes=["read"], allow_http=True)
