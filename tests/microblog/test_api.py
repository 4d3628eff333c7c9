"""The client API: Mastodon's, at Mastodon's paths, driven through DRF's test client with
personal tokens (tests/clients drives it with real Mastodon client libraries)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings

from microblog.accounts import services as accounts
from microblog.posts.models import Post
from tests.conftest import image_bytes


def test_post_then_read_it_back(api_as, alice, committing):
    client = api_as(alice)
    with committing():
        created = client.post("/api/v1/statuses", {"status": "hi #there @alice"}, format="json")
    assert created.status_code == 200, created.json()
    body = created.json()
    assert body["account"]["username"] == "alice"
    assert 'class="hashtag"' in body["content"]
    assert body["tags"][0]["name"] == "there"
    assert body["mentions"][0]["acct"] == "alice"
    fetched = client.get(f"/api/v1/statuses/{body['id']}").json()
    assert fetched["id"] == body["id"] and fetched["visibility"] == "public"


def test_form_encoded_post_as_apps_send_it(api_as, alice, bob, png_upload, committing):
    client = api_as(alice)
    media = client.post("/api/v2/media", {"file": png_upload(), "description": "red"}, format="multipart")
    assert media.status_code == 200, media.json()
    with committing():
        created = client.post(
            "/api/v1/statuses",
            {
                "status": "look",
                "media_ids[]": [media.json()["id"]],
                "visibility": "private",
                "spoiler_text": "cw",
            },
        )
    body = created.json()
    assert created.status_code == 200, body
    assert body["visibility"] == "private" and body["sensitive"] is True and body["spoiler_text"] == "cw"
    assert body["media_attachments"][0]["description"] == "red"
    # bob does not follow alice: a followers-only post is not his to see
    assert api_as(bob).get(f"/api/v1/statuses/{body['id']}").status_code == 404


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        ({"status": ""}, "empty"),
        ({"status": "x" * 501}, "500"),
        ({"status": "nul\u0000"}, "control"),
        ({"status": "ok", "visibility": "secret"}, "Visibility"),
        ({"status": "ok", "visibility": "direct"}, "direct"),
        ({"status": "ok", "in_reply_to_id": "abc"}, "In reply to id"),
        ({"status": "ok", "media_ids": ["1", "2", "3", "4", "5"]}, "images"),
        ({"status": "ok", "media_ids": [str(2**64)]}, "Media ids"),
        ({"status": "ok", "in_reply_to_id": str(2**63)}, "In reply to id"),
        ({"status": ["not", "a", "string"]}, "Status"),
        ({"status": "ok", "poll": {"options": ["a", "b"], "expires_in": 60}}, "Poll"),
    ],
)
def test_bad_status_is_422_in_mastodons_shape(api_as, alice, payload, words):
    response = api_as(alice).post("/api/v1/statuses", payload, format="json")
    assert response.status_code == 422, response.content
    body = response.json()
    assert body["error"].startswith("Validation failed: ") and words.lower() in body["error"].lower(), body
    assert not Post.objects.exists()


def test_idempotency_key_returns_the_same_status_and_refuses_other_content(api_as, alice, committing):
    client = api_as(alice)
    with committing():
        first = client.post("/api/v1/statuses", {"status": "once"}, format="json", HTTP_IDEMPOTENCY_KEY="k1")
        again = client.post("/api/v1/statuses", {"status": "once"}, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert first.status_code == again.status_code == 200
    assert first.json()["id"] == again.json()["id"]
    assert Post.objects.count() == 1
    reused = client.post("/api/v1/statuses", {"status": "other"}, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert reused.status_code == 422 and "Idempotency key" in reused.json()["error"]
    too_long = client.post("/api/v1/statuses", {"status": "x"}, format="json", HTTP_IDEMPOTENCY_KEY="k" * 201)
    assert too_long.status_code == 422
    assert Post.objects.count() == 1


def test_malformed_json_is_400_with_an_error(api_as, alice):
    response = api_as(alice).post("/api/v1/statuses", data='{"status": ', content_type="application/json")
    assert response.status_code == 400
    assert "error" in response.json()


def test_unauthenticated_and_bad_token_are_401(api):
    response = api.post("/api/v1/statuses", {"status": "x"}, format="json")
    assert (response.status_code, response.json()) == (401, {"error": "The access token is invalid"})
    api.credentials(HTTP_AUTHORIZATION="Bearer hf_not-a-real-token")
    response = api.get("/api/v1/timelines/home")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    api.credentials(HTTP_AUTHORIZATION="Bearer not-an-oauth-token-either")
    assert api.get("/api/v1/timelines/public").status_code == 401


def test_someone_elses_status_cannot_be_edited_or_deleted(api_as, alice, bob, publish):
    post = publish(alice, "mine")
    client = api_as(bob)
    assert client.put(f"/api/v1/statuses/{post.pk}", {"status": "yours"}, format="json").status_code == 403
    assert client.delete(f"/api/v1/statuses/{post.pk}").status_code == 403
    assert client.get(f"/api/v1/statuses/{post.pk}/source").status_code == 403
    post.refresh_from_db()
    assert post.text == "mine" and post.deleted_at is None


def test_unknown_ids_are_404_record_not_found(api_as, alice):
    client = api_as(alice)
    for url in (
        "/api/v1/statuses/999999",
        "/api/v1/statuses/abc",
        "/api/v1/accounts/999999",
        "/api/v1/accounts/abc/statuses",
        "/api/v1/statuses/999999/context",
        "/api/v1/notifications/999999",
        "/api/v1/media/999999",
        "/api/v1/accounts/lookup?acct=nobody",
        "/api/v1/no-such-endpoint",
    ):
        response = client.get(url)
        assert (response.status_code, response.json()) == (404, {"error": "Record not found"}), url
    for url in ("/api/v1/statuses/999999/favourite", f"/api/v1/accounts/{2**70}/follow"):
        response = client.post(url)
        assert (response.status_code, response.json()) == (404, {"error": "Record not found"}), url


@override_settings(DEBUG=True)
def test_unknown_api_paths_are_json_even_with_debug_on(api_as, alice):
    """``make run`` serves with DEBUG on, where Django's own 404 page is HTML."""
    client = api_as(alice)
    for url in ("/api/v1/no-such-endpoint", "/api/nothing/"):
        response = client.get(url)
        assert (response.status_code, response.json()) == (404, {"error": "Record not found"})
    assert client.get("/api/holdfast/v1/moderation/nothing").json() == {"detail": "Nothing here."}
    with_cookie = Client(enforce_csrf_checks=True)
    with_cookie.force_login(alice)
    refused = with_cookie.post("/api/v1/no-such-endpoint", "{}", content_type="application/json")
    assert refused.status_code == 404
    redirect = client.get("/api/schema?format=json")
    assert redirect.status_code == 301
    assert redirect["Location"] == "/api/schema/?format=json"


def test_edit_history_source_and_context(api_as, alice, bob, publish, committing):
    root = publish(alice, "root")
    client = api_as(bob)
    with committing():
        reply = client.post(
            "/api/v1/statuses", {"status": "reply", "in_reply_to_id": str(root.pk)}, format="json"
        ).json()
        edited = client.put(f"/api/v1/statuses/{reply['id']}", {"status": "reply, edited"}, format="json")
    assert edited.status_code == 200 and edited.json()["edited_at"]
    assert reply["in_reply_to_account_id"] == str(alice.pk)
    context = client.get(f"/api/v1/statuses/{root.pk}/context").json()
    assert [s["id"] for s in context["descendants"]] == [reply["id"]]
    assert "reply, edited" in context["descendants"][0]["content"]
    history = client.get(f"/api/v1/statuses/{reply['id']}/history").json()
    assert next(h["content"] for h in history) == "reply" and len(history) == 2
    assert client.get(f"/api/v1/statuses/{reply['id']}/source").json()["text"] == "reply, edited"
    deleted = client.delete(f"/api/v1/statuses/{reply['id']}")
    assert deleted.status_code == 200 and deleted.json()["text"] == "reply, edited"
    assert client.get(f"/api/v1/statuses/{reply['id']}").status_code == 404


def test_favourite_reblog_bookmark_follow_and_notifications(api_as, alice, bob, publish):
    post = publish(alice, "like me")
    client = api_as(bob)
    assert client.post(f"/api/v1/accounts/{alice.pk}/follow").json()["following"] is True
    assert client.post(f"/api/v1/statuses/{post.pk}/favourite").json()["favourited"] is True
    reblog = client.post(f"/api/v1/statuses/{post.pk}/reblog").json()
    assert reblog["reblog"]["id"] == str(post.pk) and reblog["reblogged"] is True
    assert client.post(f"/api/v1/statuses/{post.pk}/bookmark").json()["bookmarked"] is True
    assert [s["id"] for s in client.get("/api/v1/bookmarks").json()] == [str(post.pk)]
    assert [s["id"] for s in client.get("/api/v1/favourites").json()] == [str(post.pk)]
    assert [a["username"] for a in client.get(f"/api/v1/statuses/{post.pk}/favourited_by").json()] == ["bob"]
    assert [a["username"] for a in client.get(f"/api/v1/statuses/{post.pk}/reblogged_by").json()] == ["bob"]
    alice_client = api_as(alice)
    assert alice_client.get("/api/v1/notifications/unread_count").json() == {"count": 3}
    notes = alice_client.get("/api/v1/notifications").json()
    assert sorted(n["type"] for n in notes) == ["favourite", "follow", "reblog"]
    only = alice_client.get("/api/v1/notifications?types[]=follow").json()
    assert [n["type"] for n in only] == ["follow"]
    excluded = alice_client.get("/api/v1/notifications?exclude_types[]=follow").json()
    assert sorted(n["type"] for n in excluded) == ["favourite", "reblog"]
    one = alice_client.get(f"/api/v1/notifications/{notes[0]['id']}").json()
    assert one["id"] == notes[0]["id"]
    assert api_as(bob).get(f"/api/v1/notifications/{notes[0]['id']}").status_code == 404  # not his
    marker = alice_client.post(
        "/api/v1/markers", {"notifications": {"last_read_id": notes[0]["id"]}}, format="json"
    )
    assert marker.status_code == 200
    assert alice_client.get("/api/v1/notifications/unread_count").json() == {"count": 0}
    got = alice_client.get("/api/v1/markers?timeline[]=notifications").json()
    assert got["notifications"]["last_read_id"] == notes[0]["id"]
    alice_client.post(f"/api/v1/notifications/{notes[0]['id']}/dismiss")
    assert len(alice_client.get("/api/v1/notifications").json()) == 2
    alice_client.post("/api/v1/notifications/clear")
    assert alice_client.get("/api/v1/notifications").json() == []
    home = client.get("/api/v1/timelines/home").json()
    assert home[0]["reblog"]["id"] == str(post.pk)
    for action, flag in (
        ("unfavourite", "favourited"),
        ("unreblog", "reblogged"),
        ("unbookmark", "bookmarked"),
    ):
        assert client.post(f"/api/v1/statuses/{post.pk}/{action}").json()[flag] is False


def _link(response, rel: str) -> str | None:
    for part in response.get("Link", "").split(","):
        url, _, kind = part.partition(";")
        if f'rel="{rel}"' in kind:
            return url.strip()[1:-1]
    return None


@pytest.mark.parametrize(
    "path", ["/api/v1/timelines/home", "/api/v1/timelines/public", "/api/v1/timelines/tag/t"]
)
def test_timelines_page_with_link_headers(api_as, alice, publish, path):
    posted = [publish(alice, f"post {i} #t").pk for i in range(5)]
    client = api_as(alice)
    response = client.get(f"{path}?limit=2")
    seen = [int(s["id"]) for s in response.json()]
    while _link(response, "next"):
        response = client.get(_link(response, "next"))
        seen += [int(s["id"]) for s in response.json()]
    assert seen == posted[::-1]
    newer = client.get(f"{path}?since_id={posted[1]}").json()
    assert [int(s["id"]) for s in newer] == posted[:1:-1]
    right_after = client.get(f"{path}?min_id={posted[1]}&limit=2").json()
    assert [int(s["id"]) for s in right_after] == [posted[3], posted[2]]
    assert client.get(f"{path}?limit=0").status_code == 200  # clamped, as Mastodon does
    assert client.get(f"{path}?max_id=abc").status_code == 422


def test_account_endpoints(api_as, alice, bob, publish, png_upload, committing):
    root = publish(alice, "root")
    with committing():
        api_as(alice).post(
            "/api/v1/statuses", {"status": "a reply", "in_reply_to_id": str(root.pk)}, format="json"
        )
    client = api_as(bob)
    me = client.get("/api/v1/accounts/verify_credentials").json()
    assert me["username"] == "bob" and "source" in me
    updated = client.patch(
        "/api/v1/accounts/update_credentials",
        {"display_name": "Bob B.", "note": "hi", "avatar": png_upload()},
        format="multipart",
    ).json()
    assert updated["display_name"] == "Bob B." and updated["source"]["note"] == "hi"
    assert "/media/avatars/" in updated["avatar"]
    too_long = client.patch("/api/v1/accounts/update_credentials", {"display_name": "x" * 51}, format="json")
    assert too_long.status_code == 422
    assert client.get("/api/v1/accounts/lookup?acct=alice").json()["id"] == str(alice.pk)
    statuses = client.get(f"/api/v1/accounts/{alice.pk}/statuses").json()
    assert len(statuses) == 2
    assert len(client.get(f"/api/v1/accounts/{alice.pk}/statuses?exclude_replies=true").json()) == 1
    assert client.get(f"/api/v1/accounts/{alice.pk}/statuses?only_media=true").json() == []
    assert [a["username"] for a in client.get("/api/v1/accounts/search?q=ali").json()] == ["alice"]
    client.post(f"/api/v1/accounts/{alice.pk}/follow")
    assert [a["username"] for a in client.get(f"/api/v1/accounts/{alice.pk}/followers").json()] == ["bob"]
    assert [a["username"] for a in client.get(f"/api/v1/accounts/{bob.pk}/following").json()] == ["alice"]
    rel = client.get(f"/api/v1/accounts/relationships?id[]={alice.pk}").json()
    assert rel[0]["following"] is True
    assert client.post(f"/api/v1/accounts/{alice.pk}/mute").json()["muting"] is True
    assert [a["username"] for a in client.get("/api/v1/mutes").json()] == ["alice"]
    assert client.post(f"/api/v1/accounts/{alice.pk}/unmute").json()["muting"] is False
    blocked = client.post(f"/api/v1/accounts/{alice.pk}/block").json()
    assert blocked["blocking"] is True and blocked["following"] is False
    assert [a["username"] for a in client.get("/api/v1/blocks").json()] == ["alice"]
    assert client.post(f"/api/v1/accounts/{alice.pk}/unblock").json()["blocking"] is False
    assert client.post(f"/api/v1/accounts/{bob.pk}/follow").status_code == 422  # yourself


def test_media_upload_validates_and_describes(api_as, alice, bob, settings):
    client = api_as(alice)
    fake = SimpleUploadedFile("x.png", b"not an image", content_type="image/png")
    assert client.post("/api/v1/media", {"file": fake}, format="multipart").status_code == 422
    settings.HOLDFAST_MAX_IMAGE_BYTES = 50
    big = SimpleUploadedFile("x.png", image_bytes(size=(100, 100)), content_type="image/png")
    assert client.post("/api/v1/media", {"file": big}, format="multipart").status_code == 422
    settings.HOLDFAST_MAX_IMAGE_BYTES = 8 * 1024 * 1024
    good = SimpleUploadedFile("x.png", image_bytes(), content_type="image/png")
    media = client.post("/api/v1/media", {"file": good}, format="multipart").json()
    described = client.put(f"/api/v1/media/{media['id']}", {"description": "a red square"}, format="json")
    assert described.json()["description"] == "a red square"
    assert client.get(f"/api/v1/media/{media['id']}").json()["description"] == "a red square"
    assert (
        api_as(bob).put(f"/api/v1/media/{media['id']}", {"description": "mine"}, format="json").status_code
        == 404
    )


def test_oversized_json_body_is_413(api_as, alice):
    response = api_as(alice).post(
        "/api/v1/statuses",
        data='{"status": "' + "x" * (3 * 1024 * 1024) + '"}',
        content_type="application/json",
    )
    assert response.status_code == 413


def test_search_v2(api, alice, publish):
    publish(alice, "The harbour ferry is late #harbour")
    body = api.get("/api/v2/search?q=ferry").json()
    assert next(s["content"] for s in body["statuses"]).startswith("<p>The harbour ferry")
    assert [a["username"] for a in api.get("/api/v2/search?q=ali").json()["accounts"]] == ["alice"]
    assert [t["name"] for t in api.get("/api/v2/search?q=%23harb&type=hashtags").json()["hashtags"]] == [
        "harbour"
    ]
    assert api.get("/api/v2/search?q=").json() == {"accounts": [], "statuses": [], "hashtags": []}
    assert api.get("/api/v2/search?q=x&type=bogus").status_code == 422
    assert api.get("/api/v2/search?q=" + "x" * 300).status_code == 422
    assert api.get("/api/v2/search?q=ferry%00%1b").status_code == 200


def test_reports_land_in_the_moderation_queue_like_the_web_form(api_as, alice, bob, publish):
    from moderation.models import ModerationCase, Report

    post = publish(alice, "spammy")
    client = api_as(bob)
    response = client.post(
        "/api/v1/reports",
        {"account_id": str(alice.pk), "status_ids": [str(post.pk)], "comment": "spam", "category": "spam"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["target_account"]["id"] == str(alice.pk)
    report = Report.objects.get()
    assert (report.reporter, report.post_id, report.category) == (bob, post.pk, "spam")
    assert ModerationCase.objects.get().report_count == 1
    again = client.post(
        "/api/v1/reports", {"account_id": str(alice.pk), "status_ids": [str(post.pk)]}, format="json"
    )
    assert again.status_code == 422 and "already reported" in again.json()["error"]
    account_only = client.post(
        "/api/v1/reports", {"account_id": str(alice.pk), "category": "violation"}, format="json"
    )
    assert account_only.status_code == 200 and Report.objects.count() == 2
    assert client.post("/api/v1/reports", {"account_id": str(bob.pk)}, format="json").status_code == 422
    other = publish(bob, "bob's own")
    wrong = client.post(
        "/api/v1/reports", {"account_id": str(alice.pk), "status_ids": [str(other.pk)]}, format="json"
    )
    assert wrong.status_code == 422


def test_startup_endpoints_answer_defaults(api_as, alice):
    client = api_as(alice)
    for path in (
        "/api/v1/filters",
        "/api/v2/filters",
        "/api/v1/lists",
        "/api/v1/conversations",
        "/api/v1/announcements",
        "/api/v1/trends/tags",
        "/api/v1/custom_emojis",
        "/api/v1/follow_requests",
        "/api/v1/followed_tags",
        "/api/v1/instance/rules",
    ):
        response = client.get(path)
        assert (response.status_code, response.json()) == (200, []), path
    assert client.get("/api/v1/preferences").json()["posting:default:visibility"] == "public"


def test_instance_webfinger_and_nodeinfo(api, alice):
    v1 = api.get("/api/v1/instance").json()
    assert v1["version"].startswith("4.") and v1["configuration"]["statuses"]["max_characters"] == 500
    v2 = api.get("/api/v2/instance").json()
    assert v2["domain"] == "testserver" and v2["registrations"]["enabled"] is True
    finger = api.get("/.well-known/webfinger?resource=acct:alice@testserver")
    assert finger.json()["subject"] == "acct:alice@testserver"
    assert api.get("/.well-known/webfinger?resource=acct:alice@elsewhere.example").status_code == 404
    assert api.get("/.well-known/webfinger?resource=acct:nobody@testserver").status_code == 404
    assert api.get("/.well-known/webfinger").status_code == 400
    href = api.get("/.well-known/nodeinfo").json()["links"][0]["href"]
    info = api.get(href).json()
    assert info["software"]["name"] == "holdfast" and info["usage"]["users"]["total"] == 1


def test_cors_on_the_api_and_oauth(api):
    preflight = api.options(
        "/api/v1/timelines/home",
        HTTP_ORIGIN="https://elk.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization",
    )
    assert preflight["Access-Control-Allow-Origin"] == "*"
    response = api.get("/api/v1/instance", HTTP_ORIGIN="https://elk.example")
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "Link" in response["Access-Control-Expose-Headers"]
    assert "Access-Control-Allow-Origin" not in api.get("/", HTTP_ORIGIN="https://elk.example")


def test_blocked_user_cannot_see_or_interact(api_as, alice, bob, publish):
    post = publish(alice, "hidden from bob")
    accounts.block(alice, bob)
    client = api_as(bob)
    assert client.get(f"/api/v1/statuses/{post.pk}").status_code == 404
    response = client.post(f"/api/v1/accounts/{alice.pk}/follow")
    assert response.status_code == 403 and "error" in response.json()


def test_personal_tokens_live_under_the_holdfast_prefix(api_as, alice):
    client = api_as(alice)
    tokens = client.get("/api/holdfast/v1/tokens").json()
    assert [t["name"] for t in tokens] == ["tests"]
    assert "token" not in tokens[0] and "token_hash" not in tokens[0]
    made = client.post("/api/holdfast/v1/tokens", {"name": "script"}, format="json").json()
    assert made["token"].startswith("hf_")
    assert client.delete("/api/holdfast/v1/tokens/999999").status_code == 404
    assert client.get("/api/v1/tokens").status_code == 404  # no second API for one thing


def test_openapi_schema_and_docs(api):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    spec = schema.json()
    assert spec["openapi"].startswith("3.")
    for path in ("/api/v1/statuses", "/api/v1/timelines/home", "/api/v2/search", "/api/holdfast/v1/tokens"):
        assert path in spec["paths"], path
    assert not any(p.startswith("/api/v1/posts") for p in spec["paths"])
    assert "bearerAuth" in spec["components"]["securitySchemes"]
    docs = api.get("/api/docs/")
    assert docs.status_code == 200 and b"swagger-ui" in docs.content
    assert b"cdn" not in docs.content.lower()


def test_moderation_state_is_holdfasts_own_endpoint(api_as, alice, bob, publish, committing):
    client = api_as(alice)
    with committing():
        created = client.post("/api/v1/statuses", {"status": "moderate me"}, format="json").json()
    state = client.get(f"/api/holdfast/v1/statuses/{created['id']}/moderation").json()
    assert state == {"id": created["id"], "moderation_state": "allowed"}
    private = publish(alice, "followers only", visibility="followers")
    assert api_as(bob).get(f"/api/holdfast/v1/statuses/{private.pk}/moderation").status_code == 404
