"""Posting rules, shared by the web UI, the API and management commands."""

from collections.abc import Sequence

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from microblog.accounts.services import is_blocked_between
from microblog.counters import change_count
from microblog.notifications.services import notify

from . import text as post_text
from .models import (
    Attachment,
    Bookmark,
    FeedEntry,
    Hashtag,
    Like,
    Mention,
    ModerationState,
    Post,
    PostEdit,
    PostHashtag,
    Visibility,
)
from .signals import posts_committed
from .timelines import get_visible_post

User = get_user_model()


def _initial_moderation_state(author) -> str:
    return ModerationState.PENDING


def _render(text: str) -> tuple[str, list, list[str]]:
    parsed = post_text.parse(text)
    mentioned = []
    if parsed.mentions:
        mentioned = list(
            User.objects.annotate(lower_name=Lower("username")).filter(
                lower_name__in=parsed.mentions, is_active=True
            )
        )
    html = post_text.render(text, known_usernames=[u.username for u in mentioned])
    return html, mentioned, parsed.hashtags


def _link_tags_and_mentions(post: Post, mentioned: list, hashtags: list[str]) -> None:
    if hashtags:
        names = list(dict.fromkeys(hashtags))
        # Most tags exist already: one statement links them (through the ORM, looking the
        # tags up and inserting the links was a sixth of posting's CPU).
        if _link_known_hashtags(post.pk, names) < len(names):  # a tag seen for the first time
            Hashtag.objects.bulk_create([Hashtag(name=name) for name in names], ignore_conflicts=True)
            _link_known_hashtags(post.pk, names)
    if mentioned:
        Mention.objects.bulk_create(
            [Mention(post=post, user=user) for user in mentioned], ignore_conflicts=True
        )


def _link_known_hashtags(post_id: int, names: list[str]) -> int:
    """Link a post that has no tags yet to those of ``names`` that exist; how many it linked."""
    link, tag = PostHashtag._meta.db_table, Hashtag._meta.db_table
    placeholders = ", ".join(["%s"] * len(names))
    with connection.cursor() as cursor:
        # ON CONFLICT: the second call, after creating the missing tags, meets the first's rows.
        cursor.execute(
            f"INSERT INTO {link} (post_id, hashtag_id) SELECT %s, id FROM {tag} "  # noqa: S608 - model tables
            f"WHERE name IN ({placeholders}) ON CONFLICT DO NOTHING",
            [post_id, *names],
        )
        return cursor.rowcount


def _fan_out(post: Post, reply_to_author_id: int | None = None) -> None:
    """Write the post into its author's and followers' home feeds in one statement.

    A reply to someone else reaches only followers who also follow the person replied to,
    as in Mastodon: it is half a conversation otherwise.
    """
    feed = FeedEntry._meta.db_table
    params: list = [post.author_id, post.pk, post.pk, post.author_id, post.author_id]
    reply_filter = ""
    if reply_to_author_id and reply_to_author_id != post.author_id:
        reply_filter = (
            " AND f.follower_id IN (SELECT follower_id FROM accounts_follow WHERE followee_id = %s)"
        )
        params.append(reply_to_author_id)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {feed} (owner_id, post_id) SELECT %s, %s UNION ALL "  # noqa: S608 - model table
            "SELECT f.follower_id, %s FROM accounts_follow f WHERE f.followee_id = %s "
            "AND f.follower_id NOT IN (SELECT muter_id FROM accounts_mute WHERE muted_id = %s)"
            + reply_filter,
            params,
        )


def _announce(post_ids: Sequence[int]) -> None:
    ids = list(post_ids)
    transaction.on_commit(lambda: posts_committed.send(sender=Post, post_ids=ids))


def create_post(
    author,
    *,
    text: str,
    content_warning: str = "",
    visibility: str = Visibility.PUBLIC,
    in_reply_to: int | None = None,
    attachment_ids: Sequence[int] = (),
) -> Post:
    attachment_ids = list(dict.fromkeys(attachment_ids or []))
    text = post_text.clean_post_text(text, allow_empty=bool(attachment_ids))
    content_warning = post_text.clean_content_warning(content_warning)
    if visibility not in Visibility.values:
        raise ValidationError({"visibility": f"Choose one of: {', '.join(Visibility.values)}."})
    if len(attachment_ids) > settings.HOLDFAST_MAX_ATTACHMENTS:
        raise ValidationError(
            {"attachment_ids": f"At most {settings.HOLDFAST_MAX_ATTACHMENTS} images per post."}
        )
    rendered = _render(text)
    html, mentioned, hashtags = rendered
    if connection.vendor == "postgresql" and in_reply_to is None and not attachment_ids and not mentioned:
        post = _insert_plain_post(
            author,
            text=text,
            html=html,
            content_warning=content_warning,
            visibility=visibility,
            hashtags=hashtags,
        )
    else:
        post = _create_post_in_transaction(
            author,
            text=text,
            rendered=rendered,
            content_warning=content_warning,
            visibility=visibility,
            in_reply_to=in_reply_to,
            attachment_ids=attachment_ids,
        )
    _announce([post.pk])
    return post


def _insert_plain_post(
    author, *, text: str, html: str, content_warning: str, visibility: str, hashtags: list[str]
) -> Post:
    """A post that replies to nobody, mentions nobody and carries no media, on PostgreSQL.

    Everything such a post writes (the post, its hashtags, its author's count, its home-feed
    fan-out) goes in one statement of data-modifying CTEs. As separate statements in a
    transaction that was seven round trips, and their client and server overhead was over
    a third of posting's CPU. One statement is atomic on its own, so no BEGIN/COMMIT either.
    ``tests/microblog/test_posts.py`` checks it stores exactly what the general path stores.
    """
    post = Post(
        author=author,
        text=text,
        html=html,
        content_warning=content_warning,
        visibility=visibility,
        moderation_state=_initial_moderation_state(author),
    )
    fields = [f for f in Post._meta.concrete_fields if not f.primary_key]
    values = [f.get_db_prep_save(f.pre_save(post, add=True), connection) for f in fields]
    quote = connection.ops.quote_name
    post_table, user_table = quote(Post._meta.db_table), quote(User._meta.db_table)
    tag_table, link_table = Hashtag._meta.db_table, PostHashtag._meta.db_table
    names = list(dict.fromkeys(hashtags))
    tags = ""
    params: list = [*values]
    if names:
        # Tags not seen before are created here too. A tag that another transaction creates
        # after this statement's snapshot is neither seen nor inserted (the conflict is
        # skipped), so it comes back short: the count below says so and it is linked after.
        tags = (
            f", new_tag AS (INSERT INTO {tag_table} (name) SELECT n FROM unnest(%s::text[]) n "  # noqa: S608
            f"WHERE NOT EXISTS (SELECT 1 FROM {tag_table} t WHERE t.name = n) "
            "ON CONFLICT (name) DO NOTHING RETURNING id), "
            f"linked AS (INSERT INTO {link_table} (post_id, hashtag_id) SELECT new_post.id, tag.id "
            f"FROM new_post, (SELECT id FROM {tag_table} WHERE name = ANY(%s::text[]) "
            "UNION ALL SELECT id FROM new_tag) tag RETURNING 1)"
        )
        params += [names, names]
    params += [author.pk, author.pk, author.pk, author.pk]
    columns = ", ".join(quote(f.column) for f in fields)
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH new_post AS (INSERT INTO {post_table} ({columns}) "  # noqa: S608 - model tables
            f"VALUES ({', '.join(['%s'] * len(fields))}) RETURNING id){tags}, "
            f"counted AS (UPDATE {user_table} SET posts_count = posts_count + 1 WHERE id = %s), "
            f"fed AS (INSERT INTO {FeedEntry._meta.db_table} (owner_id, post_id) "
            "SELECT %s, id FROM new_post UNION ALL SELECT f.follower_id, new_post.id "
            "FROM new_post, accounts_follow f WHERE f.followee_id = %s "
            "AND f.follower_id NOT IN (SELECT muter_id FROM accounts_mute WHERE muted_id = %s)) "
            f"SELECT id, {'(SELECT count(*) FROM linked)' if names else '0'} FROM new_post",
            params,
        )
        post.pk, linked = cursor.fetchone()
    post._state.adding, post._state.db = False, connection.alias
    author.posts_count += 1  # what the update did, so the caller can show it without a query
    if linked < len(names):
        _link_tags_and_mentions(post, [], names)
    return post


@transaction.atomic
def _create_post_in_transaction(
    author,
    *,
    text: str,
    rendered: tuple[str, list, list[str]],
    content_warning: str,
    visibility: str,
    in_reply_to: int | None,
    attachment_ids: list[int],
) -> Post:
    """Any post, through the ORM: replies, mentions, media, and every post on SQLite."""
    parent = None
    if in_reply_to is not None:
        parent = get_visible_post(author, in_reply_to)
        if parent.repost_of_id:
            parent = get_visible_post(author, parent.repost_of_id)
        if is_blocked_between(author.pk, parent.author_id):
            raise PermissionDenied("You cannot reply to this account.")
    attachments = []
    if attachment_ids:
        attachments = list(
            Attachment.objects.select_for_update().filter(
                pk__in=attachment_ids, owner=author, post__isnull=True
            )
        )
        if len(attachments) != len(attachment_ids):
            raise ValidationError(
                {"attachment_ids": "Attach only your own images that are not on another post yet."}
            )
    html, mentioned, hashtags = rendered
    post = Post.objects.create(
        author=author,
        text=text,
        html=html,
        content_warning=content_warning,
        visibility=visibility,
        in_reply_to=parent,
        thread_root_id=(parent.thread_root_id or parent.pk) if parent else None,
        moderation_state=_initial_moderation_state(author),
    )
    if attachments:
        Attachment.objects.filter(pk__in=[a.pk for a in attachments]).update(post=post)
    _link_tags_and_mentions(post, mentioned, hashtags)
    change_count(User, author.pk, "posts_count")
    author.posts_count += 1  # what the update did, so the caller can show it without a query
    if parent:
        change_count(Post, parent.pk, "replies_count")
        notify(recipient=parent.author, actor=author, kind="reply", post=post)
    _fan_out(post, reply_to_author_id=parent.author_id if parent else None)
    for user in mentioned:
        if not parent or user.pk != parent.author_id:
            notify(recipient=user, actor=author, kind="mention", post=post)
    return post


def get_own_post(user, post_id) -> Post:
    post = get_visible_post(user, post_id)
    if post.author_id != user.pk:
        raise PermissionDenied("You can only change your own posts.")
    return post


@transaction.atomic
def edit_post(user, post_id, *, text: str, content_warning: str | None = None) -> Post:
    post = get_own_post(user, post_id)
    if post.repost_of_id:
        raise ValidationError({"text": "A repost has no text to edit."})
    post = Post.objects.select_for_update().get(pk=post.pk)
    has_media = post.attachments.exists()
    text = post_text.clean_post_text(text, allow_empty=has_media)
    content_warning = (
        post.content_warning if content_warning is None else post_text.clean_content_warning(content_warning)
    )
    if text == post.text and content_warning == post.content_warning:
        return post
    PostEdit.objects.create(
        post=post,
        text=post.text,
        content_warning=post.content_warning,
        created_at=post.edited_at or post.created_at,
    )
    html, mentioned, hashtags = _render(text)
    post.text, post.html, post.content_warning = text, html, content_warning
    post.edited_at = timezone.now()
    # An edit is new content: it goes through moderation again.
    post.moderation_state = _initial_moderation_state(user)
    post.save(update_fields=["text", "html", "content_warning", "edited_at", "moderation_state"])
    PostHashtag.objects.filter(post=post).delete()
    Mention.objects.filter(post=post).delete()
    _link_tags_and_mentions(post, mentioned, hashtags)
    _announce([post.pk])
    return post


def withdraw_post(post: Post) -> None:
    """Soft-delete a post and its reposts, and take them out of every feed and count.

    Used by the author's delete and by moderators' removals; the row stays so reports,
    appeals and the audit log keep pointing at what was said.
    """
    now = timezone.now()
    affected = [
        post.pk,
        *Post.objects.filter(repost_of=post, deleted_at__isnull=True).values_list("pk", flat=True),
    ]
    for victim in Post.objects.filter(pk__in=affected, deleted_at__isnull=True).select_for_update():
        Post.objects.filter(pk=victim.pk).update(deleted_at=now)
        change_count(User, victim.author_id, "posts_count", -1)
        if victim.in_reply_to_id:
            change_count(Post, victim.in_reply_to_id, "replies_count", -1)
        if victim.repost_of_id and victim.repost_of_id != post.pk:
            change_count(Post, victim.repost_of_id, "reposts_count", -1)
    FeedEntry.objects.filter(post_id__in=affected).delete()


@transaction.atomic
def delete_post(user, post_id) -> None:
    post = get_own_post(user, post_id)
    withdraw_post(post)


def _interactable(user, post_id) -> Post:
    post = get_visible_post(user, post_id)
    if post.repost_of_id:
        post = get_visible_post(user, post.repost_of_id)
    if is_blocked_between(user.pk, post.author_id):
        raise PermissionDenied("You cannot interact with this account.")
    return post


@transaction.atomic
def like(user, post_id) -> Post:
    post = _interactable(user, post_id)
    _, created = Like.objects.get_or_create(user=user, post=post)
    if created:
        change_count(Post, post.pk, "likes_count")
        notify(recipient=post.author, actor=user, kind="like", post=post)
    post.refresh_from_db(fields=["likes_count"])
    return post


@transaction.atomic
def unlike(user, post_id) -> Post:
    post = _interactable(user, post_id)
    if Like.objects.filter(user=user, post=post).delete()[0]:
        change_count(Post, post.pk, "likes_count", -1)
    post.refresh_from_db(fields=["likes_count"])
    return post


@transaction.atomic
def repost(user, post_id) -> Post:
    original = _interactable(user, post_id)
    if original.visibility != Visibility.PUBLIC:
        raise ValidationError({"post": "Only public posts can be reposted."})
    existing = Post.objects.filter(author=user, repost_of=original, deleted_at__isnull=True).first()
    if existing:
        return existing
    shared = Post.objects.create(
        author=user,
        repost_of=original,
        visibility=Visibility.PUBLIC,
        moderation_state=ModerationState.ALLOWED,  # the original carries the verdict
    )
    change_count(Post, original.pk, "reposts_count")
    change_count(User, user.pk, "posts_count")
    _fan_out(shared)
    notify(recipient=original.author, actor=user, kind="repost", post=original)
    return shared


@transaction.atomic
def unrepost(user, post_id) -> None:
    original = _interactable(user, post_id)
    for shared in Post.objects.filter(author=user, repost_of=original, deleted_at__isnull=True):
        withdraw_post(shared)


def history(viewer, post_id) -> tuple[Post, list[PostEdit]]:
    post = get_visible_post(viewer, post_id)
    return post, list(post.edits.all())


def bookmark(user, post_id) -> Post:
    """Save a visible post for later (reposts save their original)."""
    post = _interactable(user, post_id)
    Bookmark.objects.get_or_create(user=user, post=post)
    return post


def unbookmark(user, post_id) -> Post:
    post = get_visible_post(user, post_id)
    post = get_visible_post(user, post.repost_of_id) if post.repost_of_id else post
    Bookmark.objects.filter(user=user, post=post).delete()
    return post
