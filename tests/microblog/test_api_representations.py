"""The API renders posts and accounts with plain functions (for speed); DRF's own field
machinery, driven by the same serializer declarations that the OpenAPI schema documents,
must produce exactly the same JSON. These reference serializers restore DRF's rendering."""

import gc

import pytest
from django.test import override_settings
from rest_framework import serializers

from microblog.accounts import services as accounts
from microblog.api import representations
from microblog.api import serializers as s
from microblog.posts import services as posts
from microblog.posts import timelines
from microblog.posts.media import store_attachment


class ReferenceAccount(s.AccountSerializer):
    to_representation = serializers.ModelSerializer.to_representation


class ReferenceAttachment(s.AttachmentSerializer):
    to_representation = serializers.ModelSerializer.to_representation


class ReferencePostFields(s._PostFields):
    author = ReferenceAccount(read_only=True)
    attachments = ReferenceAttachment(many=True, read_only=True)
    to_representation = serializers.ModelSerializer.to_representation


class ReferencePost(ReferencePostFields):
    repost_of = ReferencePostFields(read_only=True, allow_null=True)

    class Meta(s.PostSerializer.Meta):
        pass


@pytest.fixture
def varied_timeline(alice, bob, carol, publish, committing, png_upload):
    """Posts of every shape: plain, with media, a reply, a repost, edited, liked, an avatar."""
    with committing():
        _build_timeline(alice, bob, carol, publish, png_upload)
    return bob


def _build_timeline(alice, bob, carol, publish, png_upload):
    accounts.update_profile(alice, bio="Harbour <b>master</b>", avatar=png_upload("me.png"))
    accounts.follow(bob, alice)
    accounts.follow(bob, carol)
    picture = store_attachment(alice, png_upload(), "a red square")
    with_media = publish(alice, "look #harbour", attachment_ids=[picture.pk])
    plain = publish(carol, "hello @alice, see https://example.org", content_warning="links")
    publish(carol, "a reply", in_reply_to=with_media.pk)
    posts.repost(carol, with_media.pk)
    posts.like(bob, plain.pk)
    posts.repost(bob, plain.pk)
    posts.edit_post(alice, with_media.pk, text="look #harbour (edited)")


def _assert_same(fast: list[dict], reference: list[dict]) -> None:
    assert [p["id"] for p in fast] == [p["id"] for p in reference]
    for ours, theirs in zip(fast, reference, strict=True):
        for key in theirs:
            assert ours[key] == theirs[key], f"post {theirs['id']}, field {key!r}"
        assert ours.keys() == theirs.keys()


def _reference(page: timelines.Page) -> list[dict]:
    context = {"liked_ids": page.liked_ids, "reposted_ids": page.reposted_ids}
    return ReferencePost(page.items, many=True, context=context).data


def test_home_timeline_json_matches_drf_field_rendering(varied_timeline):
    page = timelines.home(varied_timeline)
    assert len(page.items) >= 5
    fast = s.PostSerializer(
        page.items, many=True, context={"liked_ids": page.liked_ids, "reposted_ids": page.reposted_ids}
    ).data
    _assert_same(fast, _reference(page))
    shapes = {(bool(p["attachments"]), p["repost_of"] is not None, p["liked"], p["reposted"]) for p in fast}
    assert len(shapes) >= 3, "the sample should cover media, reposts, likes and reposts by the viewer"


@override_settings(TIME_ZONE="Europe/Paris")
def test_dates_follow_the_current_time_zone_like_drf(varied_timeline):
    page = timelines.public(varied_timeline)
    context = {"liked_ids": page.liked_ids, "reposted_ids": page.reposted_ids}
    fast = s.PostSerializer(page.items, many=True, context=context).data
    assert fast[0]["created_at"].endswith("+01:00")
    _assert_same(fast, _reference(page))


def test_account_json_matches_drf_field_rendering(varied_timeline, alice):
    alice.refresh_from_db()
    assert s.AccountSerializer(alice).data == ReferenceAccount(alice).data
    assert s.AccountSerializer(alice).data["avatar"]


def test_api_home_endpoint_serves_the_same_json(varied_timeline, api_as):
    body = api_as(varied_timeline).get("/api/v1/timelines/home").json()
    page = timelines.home(varied_timeline)
    _assert_same(body["results"], _reference(page))


def test_rendering_an_account_leaves_it_to_reference_counting(alice, png_upload):
    """``user.avatar.url`` builds a FieldFile that points back at the user: rendered that
    way, every author on a timeline page became cyclic garbage that the collector then had
    to find and free, a tenth of the home timeline's CPU."""
    accounts.update_profile(alice, avatar=png_upload("me.png"))
    User = type(alice)
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        for _ in range(3):
            rendered = representations.account_representation(User.objects.get(pk=alice.pk))
            assert rendered["avatar"]
        del rendered
        gc.collect()
        cyclic = {type(o).__name__ for o in gc.garbage}
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert not cyclic & {"User", "ImageFieldFile", "ModelState"}


def test_stored_file_url_is_the_field_files_url(alice, png_upload):
    assert alice.avatar_url is None
    accounts.update_profile(alice, avatar=png_upload("me.png"))
    assert alice.avatar_url == alice.avatar.url  # with the descriptor's FieldFile in place
    fresh = type(alice).objects.get(pk=alice.pk)
    assert fresh.avatar_url == alice.avatar.url  # from the stored name alone
    deferred = type(alice).objects.defer("avatar").get(pk=alice.pk)
    assert deferred.avatar_url == alice.avatar.url
