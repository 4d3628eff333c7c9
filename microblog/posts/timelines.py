"""Who may see which post, and the timelines built from that rule.

Every timeline pages by keyset (``before`` = the smallest post id already shown), never
OFFSET, so page 500 costs what page 1 costs.
"""

from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection
from django.db.models import (
    Exists,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Value,
    prefetch_related_objects,
)
from django.http import Http404

from microblog.accounts.models import Block, Follow, Mute, User
from microblog.ids import MAX_OBJECT_ID
from microblog.rows import ModelColumns, model_columns, sends_init_signals

from .models import Attachment, Bookmark, FeedEntry, Like, ModerationState, Post, Visibility


@dataclass
class Page:
    items: list[Post]
    next_cursor: int | None = None
    liked_ids: set[int] = field(default_factory=set)
    reposted_ids: set[int] = field(default_factory=set)


def public_states() -> list[str]:
    """Moderation states in which a post is visible to people other than its author."""
    if settings.HOLDFAST_MODERATION_MODE == "post":
        return [ModerationState.ALLOWED, ModerationState.PENDING]
    return [ModerationState.ALLOWED]


def _authenticated(viewer) -> bool:
    return viewer is not None and viewer.is_authenticated


def hidden_author_ids(viewer, include_mutes: bool) -> list[int]:
    """Accounts the viewer must not see: blocked either way, and muted where asked. One query."""
    if not _authenticated(viewer):
        return []
    hidden = (
        Block.objects.filter(blocker=viewer)
        .values_list("blocked_id")
        .union(Block.objects.filter(blocked=viewer).values_list("blocker_id"))
    )
    if include_mutes:
        hidden = hidden.union(Mute.objects.filter(muter=viewer).values_list("muted_id"))
    return [row[0] for row in hidden]


def visible_posts(viewer, *, include_mutes: bool = False, qs: QuerySet | None = None) -> QuerySet:
    qs = Post.objects.all() if qs is None else qs
    states = public_states()
    qs = qs.filter(deleted_at__isnull=True, author__is_active=True)
    original_visible = Q(repost_of__isnull=True) | Q(
        repost_of__deleted_at__isnull=True, repost_of__moderation_state__in=states
    )
    if not _authenticated(viewer):
        return qs.filter(original_visible, moderation_state__in=states, visibility=Visibility.PUBLIC)
    follows_author = Exists(Follow.objects.filter(follower=viewer, followee=OuterRef("author")))
    qs = qs.filter(
        Q(author=viewer)
        | (
            Q(moderation_state__in=states)
            & (Q(visibility=Visibility.PUBLIC) | (Q(visibility=Visibility.FOLLOWERS) & follows_author))
        )
    ).filter(original_visible)
    hidden = hidden_author_ids(viewer, include_mutes)
    if hidden:
        qs = qs.exclude(author_id__in=hidden).exclude(repost_of__author_id__in=hidden)
    return qs


def with_related(qs: QuerySet) -> QuerySet:
    return qs.select_related("author", "repost_of__author", "in_reply_to__author")


def attach_media(posts: list[Post], known_without: list[Post] = ()) -> None:
    """Load the attachments of shown posts and of the originals they repost, in one query.

    Posts in ``known_without`` are known to have none (the feed query says so): they get an
    empty prefetched list, so neither templates nor the API query for them again.
    """
    if known_without:
        # What prefetch_related_objects would store, without the query that finds nothing:
        # an evaluated empty queryset, shared because nobody changes a prefetched result.
        empty = Attachment.objects.none()
        empty._result_cache, empty._prefetch_done = [], True
        for post in known_without:
            for item in (post, post.repost_of) if post.repost_of_id else (post,):
                item.__dict__.setdefault("_prefetched_objects_cache", {})["attachments"] = empty
    shown = {p.pk: p for p in posts}
    shown.update({p.repost_of.pk: p.repost_of for p in posts if p.repost_of_id})
    if shown:
        prefetch_related_objects(
            list(shown.values()), Prefetch("attachments", queryset=Attachment.objects.order_by("id"))
        )


def paginate(
    qs: QuerySet,
    viewer,
    before: int | None,
    limit: int,
    *,
    after: int | None = None,
    oldest_first: bool = False,
) -> Page:
    """A page of ``qs`` newest first: older than ``before``, newer than ``after``.

    ``oldest_first`` takes the ``limit`` posts right after ``after`` (Mastodon's ``min_id``)
    instead of the newest ones; the page is still returned newest first.
    """
    if before is not None:
        qs = qs.filter(id__lt=before)
    if after is not None:
        qs = qs.filter(id__gt=after)
    items = list(with_related(qs.order_by("id" if oldest_first else "-id"))[: limit + 1])
    if oldest_first:
        items = items[:limit][::-1]
    return _page_of(items, viewer, limit)


def _page_of(items: list[Post], viewer, limit: int) -> Page:
    """Up to ``limit + 1`` newest-first posts into a page: cursor, media, the viewer's state."""
    next_cursor = None
    if len(items) > limit:
        items = items[:limit]
        next_cursor = items[-1].pk
    attach_media(items)
    page = Page(items=items, next_cursor=next_cursor)
    annotate_viewer_state(page, viewer)
    return page


def annotate_viewer_state(page: Page, viewer) -> None:
    """Which of the shown posts the viewer liked or reposted, in one query."""
    if not _authenticated(viewer) or not page.items:
        return
    shown_ids = list({post.repost_of_id or post.pk for post in page.items})
    likes = Like.objects.filter(user=viewer, post_id__in=shown_ids).annotate(kind=Value("like"))
    reposts = Post.objects.filter(
        author=viewer, repost_of_id__in=shown_ids, deleted_at__isnull=True
    ).annotate(kind=Value("repost"))
    rows = likes.values_list("kind", "post_id").union(reposts.values_list("kind", "repost_of_id"), all=True)
    for kind, post_id in rows:
        (page.liked_ids if kind == "like" else page.reposted_ids).add(post_id)


def home(
    viewer,
    before: int | None = None,
    limit: int = 20,
    *,
    after: int | None = None,
    oldest_first: bool = False,
) -> Page:
    """The viewer's own posts and those of accounts they follow.

    Read from the materialised feed (one index range scan); past its end (feeds are trimmed
    to HOLDFAST_FEED_MAX entries) the rest comes from the follow graph at read time.
    """
    if before is not None and before > MAX_OBJECT_ID:
        before = None  # every post is older than that: the first page
    states = public_states()
    page = _feed_page(viewer, before, limit, states, after=after, oldest_first=oldest_first)
    if page.next_cursor is not None or after is not None:
        # Anything newer than ``after`` is in the feed: it keeps the newest entries.
        return page
    hidden = hidden_author_ids(viewer, include_mutes=True)

    def restrict(qs: QuerySet) -> QuerySet:
        qs = qs.filter(deleted_at__isnull=True, author__is_active=True)
        qs = qs.filter(Q(author=viewer) | Q(moderation_state__in=states)).filter(
            Q(repost_of__isnull=True)
            | Q(repost_of__deleted_at__isnull=True, repost_of__moderation_state__in=states)
        )
        return qs.exclude(repost_of__author_id__in=hidden) if hidden else qs

    oldest = page.items[-1].pk if page.items else before
    followed = Follow.objects.filter(follower=viewer).values("followee_id")
    muted = Mute.objects.filter(muter=viewer).values("muted_id")
    older = restrict(Post.objects.filter(Q(author=viewer) | Q(author__in=followed)).exclude(author__in=muted))
    remaining = limit - len(page.items)
    if remaining == 0:  # a full page ended exactly where the feed does
        page.next_cursor = oldest if older.filter(id__lt=oldest).exists() else None
        return page
    rest = paginate(older, viewer, oldest, remaining)
    merged = Page(items=[*page.items, *rest.items], next_cursor=rest.next_cursor)
    annotate_viewer_state(merged, viewer)
    return merged


# A post with what it shows: author, the original it reposts and its author, the post it
# replies to and its author. The feed query selects these itself (see _feed_page).
_RELATED_ALIASES = (
    ("p", None, None),
    ("a", "p", "author"),
    ("o", "p", "repost_of"),
    ("oa", "o", "author"),
    ("r", "p", "in_reply_to"),
    ("ra", "r", "author"),
)


_MODELS = {"p": Post, "o": Post, "r": Post, "a": User, "oa": User, "ra": User}


def _related_columns(vendor: str) -> list[ModelColumns]:
    """The columns of _RELATED_ALIASES, in select-list order."""
    return [model_columns(_MODELS[alias], alias, vendor) for alias, _, _ in _RELATED_ALIASES]


def _posts_from_rows(rows: list[tuple], offset: int) -> list[Post]:
    """Posts with their related objects from rows whose columns from ``offset`` on are those
    of _related_columns: what select_related builds, without compiling a query."""
    layout = _related_columns(connection.vendor)
    links = [(alias, parent, Post._meta.get_field(name)) for alias, parent, name in _RELATED_ALIASES[1:]]
    db = connection.alias
    spans, start = [], offset
    for columns in layout:
        spans.append((columns, start, start + columns.width, not sends_init_signals(columns.model)))
        start += columns.width
    posts = []
    for row in rows:
        loaded = {
            columns.alias: columns.load(list(row[begin:end]), db, plain=plain)
            for columns, begin, end, plain in spans
        }
        for alias, parent, relation in links:
            owner = loaded[parent]
            if owner is not None:
                relation.set_cached_value(owner, loaded[alias])
        posts.append(loaded["p"])
    return posts


def _feed_page(
    viewer, before: int | None, limit: int, states: list[str], *, after: int | None = None,
    oldest_first: bool = False,
) -> Page:
    """One page of the materialised feed, with the viewer's likes and reposts of it.

    The feed query is written in SQL because it is the hottest query of the site: built
    through the ORM (and followed by a select_related query for the posts), a page cost
    several times more CPU than PostgreSQL spends answering it. This one query returns the
    posts with everything they show, and answers per row what would otherwise take three
    more queries: whether the viewer liked or reposted the post, whether it has media, and
    (in the WHERE clause) whether a reposted original's author is blocked or muted. The
    same rules as ``restrict`` in ``home`` apply.
    """
    feed, post, user = FeedEntry._meta.db_table, Post._meta.db_table, viewer._meta.db_table
    like, attachment = Like._meta.db_table, Attachment._meta.db_table
    block, mute = Block._meta.db_table, Mute._meta.db_table
    state_list = ", ".join(["%s"] * len(states))
    columns = ", ".join(c.select for c in _related_columns(connection.vendor))
    # The page is chosen first (inner query), and the viewer's likes, reposts and the media
    # are looked up for its rows only: asked in the same query level as the feed scan,
    # PostgreSQL expected the whole feed to need them and read every like and repost the
    # viewer ever made into a hash instead (8 ms for 20,000 likes, growing with them).
    # "repost_of_id IS NOT NULL" restates what the equality implies so that, when PostgreSQL
    # still hashes the viewer's reposts, it reads them from the partial index repost_once
    # (3 pages) rather than every post the viewer wrote (238 pages for 245 posts).
    sql = [
        "SELECT "  # noqa: S608 - table names come from the models
        f"EXISTS (SELECT 1 FROM {like} l WHERE l.user_id = %s AND l.post_id = q.shown_id), "
        f"EXISTS (SELECT 1 FROM {post} x WHERE x.author_id = %s AND x.repost_of_id = q.shown_id "
        "AND x.repost_of_id IS NOT NULL AND x.deleted_at IS NULL), "
        f"EXISTS (SELECT 1 FROM {attachment} m WHERE m.post_id = q.feed_post_id OR m.post_id = q.shown_id), "
        "q.* FROM (SELECT COALESCE(p.repost_of_id, p.id) AS shown_id, p.id AS feed_post_id, "
        f"{columns} "
        f"FROM {feed} f JOIN {post} p ON p.id = f.post_id JOIN {user} a ON a.id = p.author_id "
        f"LEFT JOIN {post} o ON o.id = p.repost_of_id LEFT JOIN {user} oa ON oa.id = o.author_id "
        f"LEFT JOIN {post} r ON r.id = p.in_reply_to_id LEFT JOIN {user} ra ON ra.id = r.author_id "
        "WHERE f.owner_id = %s AND p.deleted_at IS NULL AND a.is_active = %s "
        f"AND (p.author_id = %s OR p.moderation_state IN ({state_list})) "
        "AND (p.repost_of_id IS NULL OR (o.deleted_at IS NULL "
        f"AND o.moderation_state IN ({state_list}) "
        f"AND NOT EXISTS (SELECT 1 FROM {block} b WHERE (b.blocker_id = %s AND b.blocked_id = o.author_id) "
        "OR (b.blocked_id = %s AND b.blocker_id = o.author_id)) "
        f"AND NOT EXISTS (SELECT 1 FROM {mute} u WHERE u.muter_id = %s AND u.muted_id = o.author_id)))"
    ]
    me = viewer.pk
    params: list = [me, me, me, True, me, *states, *states, me, me, me]
    if before is not None:
        sql.append(" AND f.post_id < %s")
        params.append(before)
    if after is not None:
        sql.append(" AND f.post_id > %s")
        params.append(after)
    # The limit is written into the query, not passed: with it as a parameter PostgreSQL
    # found no generic plan as good as a fresh one and re-planned on every request, which
    # cost more than running the query. (int() because it is interpolated.)
    # oldest_first (Mastodon's min_id) takes the entries right after ``after``; the page
    # still comes out newest first, and has no older page to point at.
    inner_order = "ASC" if oldest_first else "DESC"
    inner_limit = int(limit) if oldest_first else int(limit) + 1
    sql.append(f" ORDER BY f.post_id {inner_order} LIMIT {inner_limit}) q ORDER BY q.feed_post_id DESC")
    with connection.cursor() as cursor:
        cursor.execute("".join(sql), params)
        rows = cursor.fetchall()
    items = _posts_from_rows(rows, offset=5)
    next_cursor = None
    if len(items) > limit:
        items, rows = items[:limit], rows[:limit]
        next_cursor = items[-1].pk
    page = Page(items=items, next_cursor=next_cursor)
    with_media, without_media = [], []
    for item, (liked, reposted, has_media, *_) in zip(items, rows, strict=True):
        shown_id = item.repost_of_id or item.pk
        if liked:
            page.liked_ids.add(shown_id)
        if reposted:
            page.reposted_ids.add(shown_id)
        (with_media if has_media else without_media).append(item)
    attach_media(with_media, known_without=without_media)
    return page


def public(
    viewer,
    before: int | None = None,
    limit: int = 20,
    *,
    after: int | None = None,
    oldest_first: bool = False,
) -> Page:
    qs = visible_posts(viewer, include_mutes=True).filter(
        visibility=Visibility.PUBLIC, repost_of__isnull=True
    )
    return paginate(qs, viewer, before, limit, after=after, oldest_first=oldest_first)


def hashtag(
    viewer,
    name: str,
    before: int | None = None,
    limit: int = 20,
    *,
    after: int | None = None,
    oldest_first: bool = False,
) -> Page:
    qs = visible_posts(viewer, include_mutes=True).filter(posthashtag__hashtag__name=name.lower())
    return paginate(qs, viewer, before, limit, after=after, oldest_first=oldest_first)


def profile(
    viewer,
    author,
    before: int | None = None,
    limit: int = 20,
    *,
    after: int | None = None,
    oldest_first: bool = False,
    exclude_replies: bool = False,
    exclude_reposts: bool = False,
    only_media: bool = False,
) -> Page:
    """An account's posts; the filters are Mastodon's for /api/v1/accounts/:id/statuses."""
    qs = visible_posts(viewer).filter(author=author)
    if exclude_replies:
        qs = qs.filter(in_reply_to__isnull=True)
    if exclude_reposts:
        qs = qs.filter(repost_of__isnull=True)
    if only_media:
        qs = qs.filter(Exists(Attachment.objects.filter(post=OuterRef("pk"))))
    return paginate(qs, viewer, before, limit, after=after, oldest_first=oldest_first)


def bookmarked(viewer, before: int | None = None, limit: int = 20) -> Page:
    """The viewer's bookmarks that they may still see, newest post first."""
    saved = Bookmark.objects.filter(user=viewer).values("post_id")
    return paginate(visible_posts(viewer).filter(pk__in=saved), viewer, before, limit)


def liked(viewer, before: int | None = None, limit: int = 20) -> Page:
    """The posts the viewer liked that they may still see, newest post first."""
    likes = Like.objects.filter(user=viewer).values("post_id")
    return paginate(visible_posts(viewer).filter(pk__in=likes), viewer, before, limit)


def bookmarked_ids(viewer, posts: list[Post]) -> set[int]:
    """Which of the shown posts (or the originals they repost) the viewer bookmarked."""
    if not _authenticated(viewer) or not posts:
        return set()
    shown = {post.repost_of_id or post.pk for post in posts}
    return set(Bookmark.objects.filter(user=viewer, post_id__in=shown).values_list("post_id", flat=True))


def who_interacted(viewer, post_id, kind: str, before: int | None = None, limit: int = 40):
    """Accounts that liked (``kind="like"``) or reposted a visible post, newest first:
    (accounts, the next page's cursor). People the viewer blocks or who block them are left out."""
    post = get_visible_post(viewer, post_id)
    if kind == "like":
        qs = Like.objects.filter(post=post).select_related("user")
        person = "user"
    else:
        qs = Post.objects.filter(repost_of=post, deleted_at__isnull=True).select_related("author")
        person = "author"
    hidden = hidden_author_ids(viewer, include_mutes=False)
    if hidden:
        qs = qs.exclude(**{f"{person}_id__in": hidden})
    if before is not None:
        qs = qs.filter(id__lt=before)
    rows = list(qs.filter(**{f"{person}__is_active": True}).order_by("-id")[: limit + 1])
    cursor = rows[limit - 1].pk if len(rows) > limit else None
    return [getattr(row, person) for row in rows[:limit]], cursor


def get_visible_post(viewer, post_id) -> Post:
    try:
        post_id = int(post_id)
    except (TypeError, ValueError):
        raise Http404("No such post.") from None
    post = with_related(visible_posts(viewer)).filter(pk=post_id).first()
    if post is None:
        raise Http404("No such post.")
    attach_media([post])
    return post


def new_own_post(post: Post, *, with_media: bool) -> Post:
    """A post its author just created, ready to show them, without re-running the visibility rules.

    Its author may always see it and nobody has liked or reposted it yet. Only its
    moderation state may have moved since it was saved, and only where tasks run eagerly
    (moderation then ran when the post was committed); otherwise it is still pending.
    """
    from microblog.celery import tasks_run_eagerly

    if tasks_run_eagerly():
        post.refresh_from_db(fields=["moderation_state"])
    if with_media:
        attach_media([post])
    else:
        attach_media([], known_without=[post])
    return post


@dataclass
class Thread:
    ancestors: list[Post]
    post: Post
    descendants: list[tuple[Post, int]]  # (post, depth below the focused post)
    liked_ids: set[int] = field(default_factory=set)
    reposted_ids: set[int] = field(default_factory=set)


def thread(viewer, post_id, max_posts: int = 500) -> Thread:
    focus = get_visible_post(viewer, post_id)
    if focus.repost_of_id:
        focus = get_visible_post(viewer, focus.repost_of_id)
    root_id = focus.thread_root_id or focus.pk
    members = {
        p.pk: p
        for p in with_related(
            visible_posts(viewer, include_mutes=False).filter(Q(thread_root_id=root_id) | Q(pk=root_id))
        ).order_by("id")[:max_posts]
    }
    attach_media(list(members.values()))
    ancestors: list[Post] = []
    cursor = focus.in_reply_to_id
    while cursor and cursor in members and len(ancestors) < 100:
        ancestors.append(members[cursor])
        cursor = members[cursor].in_reply_to_id
    ancestors.reverse()
    children: dict[int, list[Post]] = {}
    for member in members.values():
        if member.in_reply_to_id:
            children.setdefault(member.in_reply_to_id, []).append(member)
    descendants: list[tuple[Post, int]] = []

    def walk(parent_id: int, depth: int) -> None:
        for child in children.get(parent_id, []):
            descendants.append((child, depth))
            if depth < 50:
                walk(child.pk, depth + 1)

    walk(focus.pk, 1)
    result = Thread(ancestors=ancestors, post=focus, descendants=descendants)
    page = Page(items=[*ancestors, focus, *(p for p, _ in descendants)])
    annotate_viewer_state(page, viewer)
    result.liked_ids, result.reposted_ids = page.liked_ids, page.reposted_ids
    return result
