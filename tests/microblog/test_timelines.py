import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from microblog.accounts import services as accounts
from microblog.posts import services as posts
from microblog.posts import timelines
from microblog.posts.media import store_attachment


@pytest.fixture
def community(make_user, publish):
    reader = make_user("reader")
    authors = [make_user(f"author{i}") for i in range(5)]
    for author in authors:
        accounts.follow(reader, author)
    stranger = make_user("stranger")
    for i in range(30):
        publish(authors[i % 5], f"post {i} #tag{i % 3}")
    publish(stranger, "not followed #tag0")
    return reader, authors, stranger


def test_home_shows_followed_and_own_newest_first(community, publish):
    reader, _authors, stranger = community
    own = publish(reader, "my own")
    page = timelines.home(reader, limit=10)
    assert page.items[0] == own
    ids = [p.pk for p in page.items]
    assert ids == sorted(ids, reverse=True)
    assert all(p.author_id != stranger.pk for p in page.items)


def test_keyset_pagination_walks_every_post_once(community):
    reader, *_ = community
    seen, cursor = [], None
    while True:
        page = timelines.home(reader, before=cursor, limit=7)
        seen.extend(p.pk for p in page.items)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert len(seen) == len(set(seen)) == 30


def test_pages_never_use_offset(community):
    reader, *_ = community
    with CaptureQueriesContext(connection) as queries:
        timelines.home(reader, before=10_000, limit=5)
    assert not any("OFFSET" in q["sql"].upper() for q in queries.captured_queries)


def _queries_for(viewer, **kwargs) -> tuple[int, timelines.Page]:
    with CaptureQueriesContext(connection) as queries:
        page = timelines.home(viewer, **kwargs)
        for post in page.items:
            shown = post.repost_of or post
            _ = shown.author.username, list(shown.attachments.all())
            if shown.in_reply_to_id:
                _ = shown.in_reply_to.author.username
    return len(queries.captured_queries), page


def test_home_query_count_does_not_grow_with_page_size(community, png_upload, publish):
    reader, authors, _ = community
    media = store_attachment(authors[0], png_upload(), "alt")
    original = publish(authors[0], "with image", attachment_ids=[media.pk])
    posts.repost(authors[1], original.pk)
    posts.like(reader, original.pk)
    small, _ = _queries_for(reader, limit=2)
    large, page = _queries_for(reader, limit=25)
    assert small == large <= 6
    assert original.pk in page.liked_ids
    # Past the end of the materialised feed, the read-time fallback adds a bounded few.
    end_of_feed, page = _queries_for(reader, limit=40)
    assert end_of_feed <= 12
    assert len(page.items) == 32


def test_home_continues_past_a_trimmed_feed(community, settings):
    from microblog.posts.models import FeedEntry

    reader, *_ = community
    full = [p.pk for p in timelines.home(reader, limit=40).items]
    keep = FeedEntry.objects.filter(owner=reader).order_by("-post_id")[:10].values_list("id", flat=True)
    FeedEntry.objects.filter(owner=reader).exclude(id__in=list(keep)).delete()
    seen, cursor = [], None
    while True:
        page = timelines.home(reader, before=cursor, limit=7)
        seen.extend(p.pk for p in page.items)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == full


def test_public_and_hashtag_timelines(community, make_user, publish):
    _reader, _authors, _stranger = community
    anonymous = None
    public = timelines.public(anonymous, limit=100)
    assert len(public.items) == 31
    tagged = timelines.hashtag(anonymous, "TAG0", limit=100)
    assert {p.text.split()[-1] for p in tagged.items} == {"#tag0"}
    assert len(tagged.items) == 11


def test_profile_timeline_includes_reposts(community, publish):
    reader, _authors, _ = community
    shared = posts.repost(reader, timelines.public(None, limit=1).items[0].pk)
    assert timelines.profile(None, reader).items[0].pk == shared.pk
