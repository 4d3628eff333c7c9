import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from microblog.posts.models import Post
from tests.conftest import image_bytes


@pytest.fixture
def logged_in(client, alice):
    client.force_login(alice)
    return client


def test_anonymous_home_redirects_to_public(client, db):
    assert client.get("/").url == "/public/"


def test_signup_logs_in(client, db):
    response = client.post("/accounts/signup/", {"username": "dora", "password": "a long passphrase"})
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_signup_errors_are_shown_on_the_form(client, alice):
    response = client.post("/accounts/signup/", {"username": "Alice", "password": "short"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "That username is taken." in html
    assert "too short" in html


def test_post_from_the_home_page(logged_in, committing):
    with committing():
        response = logged_in.post("/", {"text": "hello from the web #first", "visibility": "public"})
    assert response.status_code == 302
    page = logged_in.get("/").content.decode()
    assert "hello from the web" in page
    assert 'href="/tags/first/"' in page


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "cannot be empty"),
        ("x" * 501, "at most 500"),
        ("\x00", "Null characters"),
        ("\x07", "control characters"),
    ],
)
def test_bad_posts_get_form_errors_and_nothing_is_stored(logged_in, text, message):
    response = logged_in.post("/", {"text": text, "visibility": "public"})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Post.objects.exists()


def test_xss_is_escaped_on_the_page(logged_in, committing):
    with committing():
        logged_in.post("/", {"text": "<script>alert('x')</script>", "visibility": "public"})
    page = logged_in.get("/").content.decode()
    assert "<script>alert" not in page
    assert "&lt;script&gt;" in page


def test_fake_image_is_a_form_error(logged_in):
    fake = SimpleUploadedFile("evil.png", b"<?php system($_GET['c']); ?>", content_type="image/png")
    response = logged_in.post("/", {"text": "look", "visibility": "public", "image": fake})
    assert "not an image we can read" in response.content.decode()
    assert not Post.objects.exists()


def test_image_post_shows_alt_text(logged_in, committing):
    upload = SimpleUploadedFile("red.png", image_bytes(), content_type="image/png")
    with committing():
        logged_in.post(
            "/", {"text": "a picture", "visibility": "public", "image": upload, "alt_text": "A red square"}
        )
    assert 'alt="A red square"' in logged_in.get("/").content.decode()


def test_reply_edit_delete_flow(logged_in, alice, publish, committing):
    post = publish(alice, "original")
    with committing():
        logged_in.post(f"/posts/{post.pk}/", {"text": "my reply", "visibility": "public"})
    assert "my reply" in logged_in.get(f"/posts/{post.pk}/").content.decode()
    with committing():
        logged_in.post(f"/posts/{post.pk}/edit/", {"text": "edited text", "content_warning": ""})
    assert "original" in logged_in.get(f"/posts/{post.pk}/history/").content.decode()
    logged_in.post(f"/posts/{post.pk}/delete/")
    assert logged_in.get(f"/posts/{post.pk}/").status_code == 404


def test_cannot_edit_or_delete_someone_elses_post(client, alice, bob, publish):
    post = publish(alice, "mine")
    client.force_login(bob)
    assert client.get(f"/posts/{post.pk}/edit/").status_code == 403
    assert client.post(f"/posts/{post.pk}/delete/").status_code == 403
    assert Post.objects.get(pk=post.pk).deleted_at is None


def test_follow_like_and_notifications(client, alice, bob, publish):
    post = publish(alice, "like me")
    client.force_login(bob)
    client.post("/@alice/follow/")
    client.post(f"/posts/{post.pk}/like/")
    client.force_login(alice)
    page = client.get("/public/").content.decode()
    assert re.search(r'aria-label="2 unread"', page)
    notes = client.get("/notifications/").content.decode()
    assert "followed you" in notes and "liked your post" in notes


def test_unknown_actions_and_ids_are_404(logged_in):
    assert logged_in.post("/posts/1/explode/").status_code == 404
    assert logged_in.post("/@alice/explode/").status_code == 404
    assert logged_in.get("/posts/999999/").status_code == 404
    assert logged_in.get("/@nobody/").status_code == 404


def test_ids_and_cursors_beyond_the_64_bit_range_are_not_a_server_error(logged_in, alice, publish):
    """SQLite refuses such numbers with an OverflowError; the home feed's own SQL once let it through."""
    post = publish(alice, "still here")
    huge = 2**70
    for path in ("/posts/{}/", "/posts/{}/edit/", "/posts/{}/history/", "/moderation/report/post/{}/"):
        assert logged_in.get(path.format(huge)).status_code == 404, path
    for path in ("/", "/public/", "/notifications/", "/@alice/"):
        assert logged_in.get(f"{path}?before={huge}").status_code == 200, path
    assert "still here" in logged_in.get(f"/?before={huge}").content.decode()
    assert logged_in.get(f"/api/v1/timelines/home?max_id={huge}").status_code == 200
    assert Post.objects.filter(pk=post.pk).exists()


def test_search_page(client, alice, publish):
    publish(alice, "lighthouse keeper")
    page = client.get("/search/?q=lighthouse").content.decode()
    assert "lighthouse keeper" in page and "@alice" in page


def test_tokens_settings_page_shows_token_once(logged_in):
    response = logged_in.post("/settings/tokens/", {"name": "phone"})
    token = re.search(r'<code id="new-token">(hf_[^<]+)</code>', response.content.decode()).group(1)
    again = logged_in.get("/settings/tokens/").content.decode()
    assert token not in again and "phone" in again


def test_profile_settings_validates_avatar(logged_in, alice):
    fake = SimpleUploadedFile("a.png", b"nope", content_type="image/png")
    response = logged_in.post("/settings/profile/", {"display_name": "Al", "bio": "", "avatar": fake})
    assert "not an image" in response.content.decode()
    good = SimpleUploadedFile("a.png", image_bytes(), content_type="image/png")
    logged_in.post("/settings/profile/", {"display_name": "Al", "bio": "hello", "avatar": good})
    alice.refresh_from_db()
    assert alice.display_name == "Al" and alice.avatar


def test_pages_have_labels_and_skip_link(logged_in):
    page = logged_in.get("/").content.decode()
    assert 'class="skip-link"' in page
    for field_id in re.findall(r'<(?:input|textarea|select)[^>]*id="([^"]+)"', page):
        assert f'for="{field_id}"' in page
