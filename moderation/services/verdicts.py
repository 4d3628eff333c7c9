"""What a verdict does to a post: withdraw it (one or a batch), restore it after an appeal,
tell its author; and the latency every ``Verdict`` records."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import F
from django.utils import timezone

from microblog.notifications.services import notify
from microblog.posts.models import FeedEntry, ModerationState, Post
from microblog.posts.services import _fan_out, withdraw_post

User = get_user_model()


def verdict_latency(post, now) -> float:
    """Seconds from the post's (last) writing to its verdict."""
    return max(0.0, (now - (post.edited_at or post.created_at)).total_seconds())


def removal_message(reason: str, case) -> str:
    return f"Your post was removed: {reason}. You can appeal once at /moderation/appeal/{case.pk}/"


def notify_removed(post, case, reason: str) -> None:
    """Tell the author their post was removed, and how to appeal."""
    notify(
        recipient=post.author,
        kind="moderation",
        post=post,
        message=removal_message(reason, case),
    )


def withdraw_many(posts: list[Post]) -> None:
    """``withdraw_post`` for a batch of freshly classified posts, in a few statements.

    Posts that already have reposts or replies pointing at them (possible in
    post-moderation mode) go through ``withdraw_post`` one by one, which handles those.
    """
    if not posts:
        return
    ids = [p.pk for p in posts]
    busy = set(
        Post.objects.filter(repost_of_id__in=ids, deleted_at__isnull=True).values_list(
            "repost_of_id", flat=True
        )
    )
    for post in posts:
        if post.pk in busy:
            withdraw_post(post)
    simple = [p for p in posts if p.pk not in busy]
    if not simple:
        return
    simple_ids = [p.pk for p in simple]
    live = set(Post.objects.filter(pk__in=simple_ids, deleted_at__isnull=True).values_list("pk", flat=True))
    simple = [p for p in simple if p.pk in live]
    Post.objects.filter(pk__in=[p.pk for p in simple]).update(deleted_at=timezone.now())
    per_author: dict[int, int] = {}
    per_parent: dict[int, int] = {}
    for p in simple:
        per_author[p.author_id] = per_author.get(p.author_id, 0) + 1
        if p.in_reply_to_id:
            per_parent[p.in_reply_to_id] = per_parent.get(p.in_reply_to_id, 0) + 1
    for author_id, n in per_author.items():
        User.objects.filter(pk=author_id, posts_count__gte=n).update(posts_count=F("posts_count") - n)
    for parent_id, n in per_parent.items():
        Post.objects.filter(pk=parent_id, replies_count__gte=n).update(replies_count=F("replies_count") - n)
    FeedEntry.objects.filter(post_id__in=[p.pk for p in simple]).delete()


def remove_post(post: Post) -> None:
    """Mark the post removed and take it out of feeds and counts."""
    Post.objects.filter(pk=post.pk).update(moderation_state=ModerationState.REMOVED)
    withdraw_post(post)


def restore_post(post: Post) -> None:
    """Undo a removal: visible again, back in feeds and counts."""
    post.refresh_from_db()
    if post.deleted_at is not None:
        Post.objects.filter(pk=post.pk).update(deleted_at=None)
        User.objects.filter(pk=post.author_id).update(posts_count=F("posts_count") + 1)
        if post.in_reply_to_id:
            Post.objects.filter(pk=post.in_reply_to_id).update(replies_count=F("replies_count") + 1)
        if not FeedEntry.objects.filter(post=post).exists():
            reply_author = post.in_reply_to.author_id if post.in_reply_to_id else None
            _fan_out(post, reply_to_author_id=reply_author)
    Post.objects.filter(pk=post.pk).update(moderation_state=ModerationState.ALLOWED)
