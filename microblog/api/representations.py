"""The JSON shape of accounts and posts, built as plain dicts.

Timelines are the hottest responses of the site, and DRF's generic field machinery spent
more CPU turning 20 posts into dicts than the rest of the request together. The serializer
classes in ``serializers.py`` still declare the fields (they are what the OpenAPI schema
documents) but delegate their ``to_representation`` here; a test compares this output with
DRF's own field-by-field rendering so the two cannot drift apart.
"""

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, tzinfo

from django.utils import timezone

from microblog.links import link, url_shape


@dataclass(frozen=True)
class Rendering:
    """What every item of a response shares: the time zone and the URL shapes.

    Looked up once per response (both are thread- or task-local lookups) instead of once
    per post and per field.
    """

    zone: tzinfo
    post_url: tuple[str, str] | None
    profile_url: tuple[str, str] | None

    @classmethod
    def current(cls) -> "Rendering":
        return cls(timezone.get_current_timezone(), url_shape("post-detail"), url_shape("profile"))


def iso_datetime(value: datetime | None, zone: tzinfo | None = None) -> str | None:
    """Like DRF's DateTimeField: in the current time zone (or ``zone``, which callers
    rendering many dates look up once), ISO 8601, UTC written as ``Z``."""
    if value is None:
        return None
    if value.utcoffset() is not None:
        value = value.astimezone(zone or timezone.get_current_timezone())
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def account_representation(user, rendering: Rendering | None = None) -> dict:
    rendering = rendering or Rendering.current()
    return {
        "id": user.pk,
        "username": user.username,
        "display_name": user.display_name,
        "bio": user.bio,
        "avatar": user.avatar_url,
        "url": link("profile", user.username, shape=rendering.profile_url),
        "followers_count": user.followers_count,
        "following_count": user.following_count,
        "posts_count": user.posts_count,
        "date_joined": iso_datetime(user.date_joined, rendering.zone),
    }


def attachment_representation(attachment) -> dict:
    return {
        "id": attachment.pk,
        "url": attachment.url,
        "alt_text": attachment.alt_text,
        "width": attachment.width,
        "height": attachment.height,
        "content_type": attachment.content_type,
        "size": attachment.size,
    }


def _attachments(post) -> list[dict]:
    # Timelines prefetch attachments (ordered); reading the prefetched list directly skips
    # building a related manager per post. Anything not prefetched loads them here.
    prefetched = getattr(post, "_prefetched_objects_cache", {}).get("attachments")
    items = prefetched if prefetched is not None else post.attachments.all()
    return [attachment_representation(a) for a in items]


def post_representation(
    post,
    liked_ids: Collection[int] = (),
    reposted_ids: Collection[int] = (),
    *,
    nested: bool = True,
    rendering: Rendering | None = None,
) -> dict:
    """A post; ``repost_of`` (when ``nested``) holds the original of a repost."""
    rendering = rendering or Rendering.current()
    zone = rendering.zone
    data = {
        "id": post.pk,
        "url": link("post-detail", post.pk, shape=rendering.post_url),
        "author": account_representation(post.author, rendering),
        "text": post.text,
        "html": post.html,
        "content_warning": post.content_warning,
        "visibility": post.visibility,
        "in_reply_to_id": post.in_reply_to_id,
        "moderation_state": post.moderation_state,
        "created_at": iso_datetime(post.created_at, zone),
        "edited_at": iso_datetime(post.edited_at, zone),
        "likes_count": post.likes_count,
        "reposts_count": post.reposts_count,
        "replies_count": post.replies_count,
        "attachments": _attachments(post),
        "liked": post.pk in liked_ids,
        "reposted": post.pk in reposted_ids,
    }
    if nested:
        original = post.repost_of if post.repost_of_id else None
        data["repost_of"] = (
            post_representation(original, liked_ids, reposted_ids, nested=False, rendering=rendering)
            if original
            else None
        )
    return data


def posts_representation(
    posts, liked_ids: Collection[int] = (), reposted_ids: Collection[int] = ()
) -> list[dict]:
    """A page of posts, as ``PostSerializer(posts, many=True)`` renders it."""
    rendering = Rendering.current()
    return [post_representation(post, liked_ids, reposted_ids, rendering=rendering) for post in posts]
