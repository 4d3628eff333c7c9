"""Build a realistic community fast: accounts, a skewed follow graph, posts with hashtags,
mentions, replies and reposts, likes, and the materialised home feeds, all with bulk inserts.

Deterministic: the same ``--seed`` gives the same community.
"""

import heapq
import itertools
import random
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from microblog.accounts.models import Follow, User
from microblog.posts import text as post_text
from microblog.posts.models import FeedEntry, Hashtag, Like, Mention, ModerationState, Post, PostHashtag

WORDS = (
    "the a community garden river bridge library music morning coffee train city tonight weekend "
    "photo festival market book film rain sun snow mountain walk bike repair volunteer meeting "
    "school project code release bug fix coop bakery bread harbour lighthouse ferry storm tide "
    "concert choir museum exhibit neighbours park dog cat birds spring autumn lantern kite"
).split()
TAGS = "holdfast local music books photography cycling cooking gardening news art science weather".split()
BATCH = 5000
REPOST_SHARE = 0.05  # of seeded posts that share an earlier one
MEAN_LIKES = 2.0  # per post (skewed: most get none or one, a few get many)


class Command(BaseCommand):
    help = "Seed a realistic community (bulk inserts, progress bar, deterministic with --seed)."

    def add_arguments(self, parser):
        parser.add_argument("--users", type=int, default=100)
        parser.add_argument("--posts", type=int, default=1000)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--follows", type=int, default=30, help="Average accounts each person follows.")
        parser.add_argument(
            "--password", default="", help="Password for every seeded account (default: none)."
        )
        parser.add_argument(
            "--feed-depth",
            type=int,
            default=None,
            help="Home-feed entries materialised per account (default: HOLDFAST_FEED_MAX).",
        )

    def handle(
        self,
        *args,
        users: int,
        posts: int,
        seed: int,
        follows: int,
        password: str,
        feed_depth: int | None,
        **kw,
    ):
        if users < 2 or users > 5_000_000:
            raise CommandError("--users must be between 2 and 5,000,000.")
        if posts < 0 or posts > 50_000_000:
            raise CommandError("--posts must be between 0 and 50,000,000.")
        if follows < 0 or follows >= users:
            raise CommandError("--follows must be at least 0 and less than --users.")
        rng = random.Random(seed)
        prefix = f"s{seed}_"
        if User.objects.filter(username__startswith=prefix).exists():
            raise CommandError(f"Accounts from --seed {seed} exist already; use another --seed.")
        with Progress(
            TextColumn("{task.description:<10}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            disable=kw.get("verbosity", 1) == 0,
        ) as progress:
            user_ids = self._users(progress, users, prefix, password)
            self._follows(progress, rng, user_ids, follows)
            originals = self._posts(progress, rng, user_ids, posts, prefix)
            self._likes(progress, rng, user_ids, originals)
            self._feeds(progress, user_ids, feed_depth or settings.HOLDFAST_FEED_MAX)
            self._counts(progress)
            self._analyze(progress)
        self.stdout.write(self.style.SUCCESS(f"Seeded {users} accounts and {posts} posts (seed {seed})."))

    def _analyze(self, progress) -> None:
        """Planner statistics for what was just written: with autovacuum off (as on these
        machines) a freshly seeded database had none, and its timelines ran 3 to 6 times
        slower until something ran ANALYZE."""
        task = progress.add_task("statistics (ANALYZE)", total=1)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        progress.advance(task)

    def _users(self, progress, count: int, prefix: str, password: str) -> list[int]:
        task = progress.add_task("accounts", total=count)
        hashed = make_password(password) if password else make_password(None)
        now = timezone.now()
        for start in range(0, count, BATCH):
            batch = [
                User(
                    username=f"{prefix}{i}",
                    display_name=f"Neighbour {i}",
                    bio="Seeded account.",
                    password=hashed,
                    date_joined=now - timedelta(days=400),
                )
                for i in range(start, min(start + BATCH, count))
            ]
            User.objects.bulk_create(batch)
            progress.advance(task, len(batch))
        return list(
            User.objects.filter(username__startswith=prefix).order_by("id").values_list("id", flat=True)
        )

    def _follows(self, progress, rng: random.Random, user_ids: list[int], average: int) -> None:
        task = progress.add_task("follows", total=len(user_ids))
        # Popularity is skewed (a few accounts are followed by many), as on real networks.
        weights = [1 / (rank + 1) ** 0.5 for rank in range(len(user_ids))]
        batch: list[Follow] = []
        for follower in user_ids:
            k = max(0, min(len(user_ids) - 1, int(rng.expovariate(1 / average)) if average else 0))
            chosen = set(rng.choices(user_ids, weights=weights, k=k)) - {follower}
            batch.extend(Follow(follower_id=follower, followee_id=f) for f in chosen)
            if len(batch) >= BATCH:
                Follow.objects.bulk_create(batch, ignore_conflicts=True)
                batch = []
            progress.advance(task)
        Follow.objects.bulk_create(batch, ignore_conflicts=True)

    def _posts(self, progress, rng: random.Random, user_ids: list[int], count: int, prefix: str) -> list[int]:
        """Seed the posts; the ids of those that are not reposts."""
        task = progress.add_task("posts", total=count)
        Hashtag.objects.bulk_create([Hashtag(name=t) for t in TAGS], ignore_conflicts=True)
        tag_ids = dict(Hashtag.objects.filter(name__in=TAGS).values_list("name", "id"))
        known = [f"{prefix}{i}" for i in range(len(user_ids))]
        now = timezone.now()
        start_time = now - timedelta(days=365)
        step = timedelta(days=365) / max(count, 1)
        author_weights = [1 / (rank + 1) ** 0.3 for rank in range(len(user_ids))]
        all_ids: list[int] = []
        roots: list[int] = []  # roots[i]: id of the thread root of the i-th seeded post
        reposted: set[tuple[int, int]] = set()  # (author, original): each shares a post once
        made = 0
        while made < count:
            # Small batches first, so early posts already have earlier ones to reply to and share.
            size = min(BATCH, count - made, max(50, made))
            authors = rng.choices(range(len(user_ids)), weights=author_weights, k=size)
            rows, tags_per_row, mentions_per_row, roots_per_row, is_repost = [], [], [], [], []
            for offset, author_index in enumerate(authors):
                created_at = start_time + step * (made + offset)
                if all_ids and rng.random() < REPOST_SHARE:
                    original = all_ids[rng.randrange(len(all_ids))]
                    if (author_index, original) not in reposted:
                        reposted.add((author_index, original))
                        rows.append(
                            Post(
                                author_id=user_ids[author_index],
                                repost_of_id=original,
                                moderation_state=ModerationState.ALLOWED,
                                created_at=created_at,
                            )
                        )
                        roots_per_row.append(None)
                        tags_per_row.append([])
                        mentions_per_row.append(None)
                        is_repost.append(True)
                        continue
                words = rng.choices(WORDS, k=rng.randint(5, 30))
                tags = rng.sample(TAGS, k=rng.choice((0, 0, 1, 1, 2)))
                mention = rng.randrange(len(user_ids)) if rng.random() < 0.15 else None
                body = " ".join(words).capitalize() + "."
                if tags:
                    body += " " + " ".join(f"#{t}" for t in tags)
                if mention is not None:
                    body = f"@{known[mention]} {body}"
                reply_to = root = None
                if all_ids and rng.random() < 0.2:
                    target = rng.randrange(len(all_ids))
                    reply_to, root = all_ids[target], roots[target]
                rows.append(
                    Post(
                        author_id=user_ids[author_index],
                        text=body,
                        html=post_text.render(body, [known[mention]] if mention is not None else []),
                        in_reply_to_id=reply_to,
                        thread_root_id=root,
                        moderation_state=ModerationState.ALLOWED,
                        created_at=created_at,
                    )
                )
                roots_per_row.append(root)
                tags_per_row.append(tags)
                mentions_per_row.append(mention)
                is_repost.append(False)
            with transaction.atomic():
                created = Post.objects.bulk_create(rows)
                if created[0].pk is None:  # backends without RETURNING: read the ids back
                    ids = list(Post.objects.order_by("-id").values_list("id", flat=True)[: len(rows)])[::-1]
                else:
                    ids = [p.pk for p in created]
                # Replies and reposts point at originals only.
                for pid, root, repost in zip(ids, roots_per_row, is_repost, strict=True):
                    if not repost:
                        all_ids.append(pid)
                        roots.append(root or pid)
                PostHashtag.objects.bulk_create(
                    [
                        PostHashtag(post_id=pid, hashtag_id=tag_ids[t])
                        for pid, tags in zip(ids, tags_per_row, strict=True)
                        for t in tags
                    ]
                )
                Mention.objects.bulk_create(
                    [
                        Mention(post_id=pid, user_id=user_ids[m])
                        for pid, m in zip(ids, mentions_per_row, strict=True)
                        if m is not None
                    ],
                    ignore_conflicts=True,
                )
            made += size
            progress.advance(task, size)
        return all_ids

    def _likes(self, progress, rng: random.Random, user_ids: list[int], post_ids: list[int]) -> None:
        task = progress.add_task("likes", total=len(post_ids))
        now = connection.ops.adapt_datetimefield_value(timezone.now())  # rows go in without the ORM

        def rows():
            for post_id in post_ids:
                likers = {rng.choice(user_ids) for _ in range(int(rng.expovariate(1 / MEAN_LIKES)))}
                for user_id in sorted(likers):
                    yield user_id, post_id, now
                progress.advance(task)

        self._write_rows(Like._meta.db_table, ("user_id", "post_id", "created_at"), rows())

    def _feeds(self, progress, user_ids: list[int], depth: int) -> None:
        """Each account's home feed: the newest ``depth`` posts of itself and those it follows.

        Merged in memory from each author's newest posts and written with COPY: asking the
        database for "newest posts of these authors" once per reader is far slower.
        """
        task = progress.add_task("feeds", total=len(user_ids))
        newest: dict[int, list[int]] = {}
        for author_id, post_id in (
            Post.objects.filter(author_id__in=user_ids, deleted_at__isnull=True)
            .order_by("author_id", "-id")
            .values_list("author_id", "id")
            .iterator(chunk_size=20_000)
        ):
            ids = newest.setdefault(author_id, [])
            if len(ids) < depth:
                ids.append(post_id)
        followees: dict[int, list[int]] = {}
        for follower, followee in Follow.objects.filter(follower_id__in=user_ids).values_list(
            "follower_id", "followee_id"
        ):
            followees.setdefault(follower, []).append(followee)

        def rows():
            for reader in user_ids:
                sources = [newest.get(a, []) for a in (reader, *followees.get(reader, ()))]
                for post_id in itertools.islice(heapq.merge(*sources, reverse=True), depth):
                    yield reader, post_id
                progress.advance(task)

        self._write_rows(FeedEntry._meta.db_table, ("owner_id", "post_id"), rows())

    def _write_rows(self, table: str, columns: tuple[str, ...], rows) -> None:
        """Insert many rows: COPY on PostgreSQL, batched INSERTs elsewhere."""
        names = ", ".join(columns)
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                with cursor.connection.cursor().copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                return
            batch: list[tuple] = []
            placeholders = ", ".join(["%s"] * len(columns))
            sql = f"INSERT OR IGNORE INTO {table} ({names}) VALUES ({placeholders})"  # noqa: S608
            for row in rows:
                batch.append(row)
                if len(batch) >= BATCH:
                    cursor.executemany(sql, batch)
                    batch = []
            cursor.executemany(sql, batch)

    def _counts(self, progress) -> None:
        task = progress.add_task("counters", total=1)
        post, follow, user = Post._meta.db_table, Follow._meta.db_table, User._meta.db_table
        like = Like._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {user} SET "  # noqa: S608 - model table names
                f"posts_count = (SELECT COUNT(*) FROM {post} p "
                f"WHERE p.author_id = {user}.id AND p.deleted_at IS NULL), "
                f"followers_count = (SELECT COUNT(*) FROM {follow} f WHERE f.followee_id = {user}.id), "
                f"following_count = (SELECT COUNT(*) FROM {follow} f WHERE f.follower_id = {user}.id)"
            )
            cursor.execute(
                f"UPDATE {post} SET replies_count = r.n FROM "  # noqa: S608
                f"(SELECT in_reply_to_id AS id, COUNT(*) AS n FROM {post} "
                f"WHERE in_reply_to_id IS NOT NULL GROUP BY in_reply_to_id) r "
                f"WHERE {post}.id = r.id"
            )
            cursor.execute(
                f"UPDATE {post} SET reposts_count = r.n FROM "  # noqa: S608
                f"(SELECT repost_of_id AS id, COUNT(*) AS n FROM {post} "
                f"WHERE repost_of_id IS NOT NULL AND deleted_at IS NULL GROUP BY repost_of_id) r "
                f"WHERE {post}.id = r.id"
            )
            cursor.execute(
                f"UPDATE {post} SET likes_count = l.n FROM "  # noqa: S608
                f"(SELECT post_id AS id, COUNT(*) AS n FROM {like} GROUP BY post_id) l "
                f"WHERE {post}.id = l.id"
            )
        progress.advance(task)
