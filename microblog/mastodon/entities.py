"""Mastodon 4.x entities (Account, Status, MediaAttachment, Notification, …) as plain dicts.

Built by hand like ``microblog.api.representations`` (DRF's field machinery costs more
than the rest of a timeline request). Ids are strings, URLs absolute, times ISO 8601 in
UTC, as Mastodon sends them. Holdfast's ``followers`` visibility is Mastodon's ``private``.
"""

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.conf import settings
from django.templatetags.static import static
from django.utils.html import escape, linebreaks

from microblog.accounts.models import User
from microblog.links import link, url_shape
from microblog.notifications.models import NotificationKind
from microblog.posts import text as post_text
from microblog.posts.models import Mention, Visibility

VISIBILITY_TO_MASTODON = {Visibility.PUBLIC: "public", Visibility.FOLLOWERS: "private"}
VISIBILITY_FROM_MASTODON = {"public": Visibility.PUBLIC, "private": Visibility.FOLLOWERS}
NOTIFICATION_TYPES = {
    NotificationKind.MENTION: "mention",
    NotificationKind.REPLY: "mention",  # Mastodon tells of a reply as a mention
    NotificationKind.FOLLOW: "follow",
    NotificationKind.LIKE: "favourite",
    NotificationKind.REPOST: "reblog",
    NotificationKind.MODERATION: "moderation_warning",
}
KINDS_FOR_TYPE: dict[str, list[str]] = {}
for _kind, _type in NOTIFICATION_TYPES.items():
    KINDS_FOR_TYPE.setdefault(_type, []).append(_kind)
MEDIA_TYPES = {"image/gif": "gifv"}


def iso_datetime(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with milliseconds, as Mastodon writes times."""
    if value is None:
        return None
    if value.utcoffset() is not None:
        value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


@dataclass
class Context:
    """What every entity of a response shares: the site's address and URL shapes."""

    base: str  # scheme and host, no trailing slash
    viewer: User | None = None
    profile_url: tuple[str, str] | None = field(default_factory=lambda: url_shape("profile"))
    post_url: tuple[str, str] | None = field(default_factory=lambda: url_shape("post-detail"))
    default_avatar: str = ""

    def __post_init__(self) -> None:
        self.default_avatar = self.absolute(static("mastodon/avatar.png"))

    def absolute(self, path: str | None) -> str:
        if not path:
            return ""
        return path if path.startswith(("http://", "https://")) else f"{self.base}{path}"


def for_request(request) -> Context:
    viewer = request.user if request.user.is_authenticated else None
    return Context(base=f"{request.scheme}://{request.get_host()}", viewer=viewer)


def account(user: User, ctx: Context) -> dict:
    url = ctx.absolute(link("profile", user.username, shape=ctx.profile_url))
    avatar = ctx.absolute(user.avatar_url) or ctx.default_avatar
    return {
        "id": str(user.pk),
        "username": user.username,
        "acct": user.username,
        "url": url,
        "uri": url,
        "display_name": user.display_name,
        "note": linebreaks(escape(user.bio)) if user.bio else "",
        "avatar": avatar,
        "avatar_static": avatar,
        "header": "",
        "header_static": "",
        "locked": False,
        "bot": False,
        "group": False,
        "discoverable": True,
        "indexable": True,
        "created_at": iso_datetime(user.date_joined),
        "last_status_at": None,
        "statuses_count": user.posts_count,
        "followers_count": user.followers_count,
        "following_count": user.following_count,
        "emojis": [],
        "fields": [],
    }


def credential_account(user: User, ctx: Context) -> dict:
    """The Account of the token's owner, with ``source`` (what they typed, for editing)."""
    data = account(user, ctx)
    data["source"] = {
        "privacy": "public",
        "sensitive": False,
        "language": "",
        "note": user.bio,
        "fields": [],
        "follow_requests_count": 0,
    }
    data["role"] = {"id": "0", "name": "", "color": "", "permissions": "0", "highlighted": False}
    return data


def media_attachment(attachment, ctx: Context) -> dict:
    url = ctx.absolute(attachment.url)
    return {
        "id": str(attachment.pk),
        "type": MEDIA_TYPES.get(attachment.content_type, "image"),
        "url": url,
        "preview_url": url,
        "remote_url": None,
        "text_url": None,
        "description": attachment.alt_text or None,
        "blurhash": None,
        "meta": {
            "original": {
                "width": attachment.width,
                "height": attachment.height,
                "size": f"{attachment.width}x{attachment.height}",
                "aspect": (attachment.width / attachment.height) if attachment.height else None,
            }
        },
    }


def tag(name: str, ctx: Context) -> dict:
    return {"name": name, "url": ctx.absolute(link("hashtag", name)), "history": [], "following": False}


@dataclass
class ViewerState:
    """Per-page: which shown posts the viewer liked, reposted and bookmarked, and who is
    mentioned in them (one query for the page)."""

    liked_ids: Collection[int] = ()
    reposted_ids: Collection[int] = ()
    bookmarked_ids: Collection[int] = ()
    mentions: dict[int, list[User]] = field(default_factory=dict)


def load_mentions(posts) -> dict[int, list[User]]:
    """The accounts each post mentions, for the posts whose text has an ``@`` at all."""
    shown = [p.repost_of if p.repost_of_id else p for p in posts]
    ids = [p.pk for p in shown if "@" in p.text]
    found: dict[int, list[User]] = {}
    if ids:
        for row in Mention.objects.filter(post_id__in=ids).select_related("user").order_by("id"):
            found.setdefault(row.post_id, []).append(row.user)
    return found


def _media(post) -> list:
    prefetched = getattr(post, "_prefetched_objects_cache", {}).get("attachments")
    return list(prefetched if prefetched is not None else post.attachments.all())


def status(post, ctx: Context, state: ViewerState, *, nested: bool = True) -> dict:
    if nested and post.repost_of_id:
        original = status(post.repost_of, ctx, state, nested=False)
        wrapper = _status_fields(post, ctx, state)
        wrapper.update(
            content="",
            reblog=original,
            favourited=original["favourited"],
            reblogged=original["reblogged"],
            bookmarked=original["bookmarked"],
        )
        return wrapper
    return _status_fields(post, ctx, state)


def _status_fields(post, ctx: Context, state: ViewerState) -> dict:
    url = ctx.absolute(link("post-detail", post.pk, shape=ctx.post_url))
    reply_to = post.in_reply_to if post.in_reply_to_id else None
    return {
        "id": str(post.pk),
        "uri": url,
        "url": url,
        "created_at": iso_datetime(post.created_at),
        "edited_at": iso_datetime(post.edited_at),
        "account": account(post.author, ctx),
        "content": post.html,
        "text": None,
        "visibility": VISIBILITY_TO_MASTODON.get(post.visibility, "public"),
        "sensitive": bool(post.content_warning),
        "spoiler_text": post.content_warning,
        "media_attachments": [media_attachment(a, ctx) for a in _media(post)]
        if not post.repost_of_id
        else [],
        "application": None,
        "mentions": [
            {
                "id": str(user.pk),
                "username": user.username,
                "acct": user.username,
                "url": ctx.absolute(link("profile", user.username, shape=ctx.profile_url)),
            }
            for user in state.mentions.get(post.pk, ())
        ],
        "tags": [tag(name, ctx) for name in post_text.parse(post.text).hashtags] if "#" in post.text else [],
        "emojis": [],
        "reblogs_count": post.reposts_count,
        "favourites_count": post.likes_count,
        "replies_count": post.replies_count,
        "in_reply_to_id": str(post.in_reply_to_id) if post.in_reply_to_id else None,
        "in_reply_to_account_id": str(reply_to.author_id) if reply_to is not None else None,
        "reblog": None,
        "poll": None,
        "card": None,
        "language": None,
        "favourited": post.pk in state.liked_ids,
        "reblogged": post.pk in state.reposted_ids,
        "muted": False,
        "bookmarked": post.pk in state.bookmarked_ids,
        "pinned": False,
        "filtered": [],
    }


def statuses(posts, ctx: Context, state: ViewerState) -> list[dict]:
    if not state.mentions:
        state.mentions = load_mentions(posts)
    return [status(post, ctx, state) for post in posts]


def relationship(account_id: int, rel: dict[str, bool]) -> dict:
    return {
        "id": str(account_id),
        "following": rel["following"],
        "showing_reblogs": rel["following"],
        "notifying": False,
        "languages": None,
        "followed_by": rel["followed_by"],
        "blocking": rel["blocking"],
        "blocked_by": rel.get("blocked_by", False),
        "muting": rel["muting"],
        "muting_notifications": rel["muting"],
        "requested": False,
        "requested_by": False,
        "domain_blocking": False,
        "endorsed": False,
        "note": "",
    }


def notification(item, ctx: Context, state: ViewerState) -> dict:
    data = {
        "id": str(item.pk),
        "type": NOTIFICATION_TYPES.get(item.kind, item.kind),
        "created_at": iso_datetime(item.created_at),
        # Mastodon always names an account; a moderation notice comes from the site itself,
        # so it names the recipient's own.
        "account": account(item.actor if item.actor_id else ctx.viewer, ctx),
        "status": status(item.post, ctx, state) if item.post_id and item.post.deleted_at is None else None,
        "group_key": f"ungrouped-{item.pk}",
    }
    if item.kind == NotificationKind.MODERATION:
        data["moderation_warning"] = {
            "id": str(item.pk),
            "action": "none",
            "text": item.message,
            "status_ids": [str(item.post_id)] if item.post_id else None,
            "appeal": None,
            "created_at": iso_datetime(item.created_at),
        }
    return data


def instance_rules() -> list[dict]:
    return []


def max_characters() -> int:
    return settings.HOLDFAST_POST_MAX_LENGTH
