"""Getting committed posts to the moderation queue, and back out with a verdict.

On commit, a post's id is pushed onto a Redis list. If the list was empty (or just
crossed a multiple of ``BATCH_SIZE``) a task carrying that id goes onto the ``moderation``
queue; otherwise a task is already on its way and will drain the id. A task decides its
own ids plus up to ``BATCH_SIZE`` more drained from the list, and queues a follow-up task
if ids are left: one post per task when traffic is low, many per task when it is high.
Only ``pending`` posts are decided, under ``SELECT ... FOR UPDATE SKIP LOCKED``, in one
transaction per batch, so a re-delivered or duplicated batch changes nothing twice.
If the broker is down the post simply stays pending: the beat sweeper re-queues pending
posts older than ``HOLDFAST_MODERATION_SWEEP_AGE``.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from functools import cache

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from microblog.celery import tasks_run_eagerly
from microblog.posts.models import ModerationState, Post
from moderation.ml.normalise import normalise

from . import dispatch, fastinsert, policy, second_stage
from .classifiers.base import ClassifierUnavailable, Item, enabled_classifiers, run_classifier
from .services import accounts, automated

logger = logging.getLogger(__name__)

LIST_KEY = "holdfast:moderation:pending"


@cache
def _redis_for(url: str):
    import redis

    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=1)


def redis_client():
    return _redis_for(settings.CELERY_BROKER_URL)


BROKER_BACKOFF = 5.0  # seconds to stop trying a broker that just failed (posting stays fast)
_broker_down_until = 0.0


def enqueue_posts(sender=None, post_ids=(), **kwargs) -> None:
    """Queue posts for moderation; if the broker is down, the sweeper picks them up later."""
    global _broker_down_until
    ids = [int(i) for i in post_ids]
    if not ids:
        return
    if time.monotonic() < _broker_down_until:
        logger.info("broker recently down: posts %s left for the sweeper", ids)
        return
    try:
        if not tasks_run_eagerly():
            length = redis_client().rpush(LIST_KEY, *ids)
            size = max(1, settings.HOLDFAST_MODERATION_BATCH_SIZE)
            before = length - len(ids)
            if before > 0 and before // size == length // size:
                return  # a task is already queued for what is in the list; it drains these too
        dispatch.queue_task(dispatch.MODERATE_POSTS, ids, queue="moderation")
    except Exception as exc:  # the broker is unreachable: the post is stored, moderation waits
        _broker_down_until = time.monotonic() + BROKER_BACKOFF
        logger.warning("could not queue posts %s for moderation (the sweeper will): %s", ids, exc)


def drain(limit: int) -> list[int]:
    """Take up to ``limit`` queued ids from the shared list (empty when eager or down)."""
    if limit <= 0 or tasks_run_eagerly():
        return []
    try:
        raw = redis_client().lpop(LIST_KEY, limit) or []
    except Exception as exc:
        logger.warning("could not drain the moderation list: %s", exc)
        return []
    return [int(x) for x in raw]


def give_back(ids: list[int]) -> None:
    if ids and not tasks_run_eagerly():
        try:
            redis_client().rpush(LIST_KEY, *ids)
        except Exception:  # the sweeper will find them
            logger.warning("could not return %d ids to the moderation list", len(ids))


def classify(items: list[Item], classifiers=None) -> list[list]:
    """Run every classifier over the items: per item, a list of (classifier, result|error)."""
    classifiers = enabled_classifiers() if classifiers is None else classifiers
    per_item: list[list] = [[] for _ in items]
    for classifier in classifiers:
        results = run_classifier(classifier, items)
        for i in range(len(items)):
            per_item[i].append(
                (classifier, results if isinstance(results, ClassifierUnavailable) else results[i])
            )
    return per_item


SCORE_FIELDS = ("post_id", "classifier", "version", "category", "score", "detail", "created_at")


def score_rows(post, outputs, now) -> list[tuple]:
    """ClassifierScore rows (SCORE_FIELDS order) for one post: every score, and errors."""
    rows = []
    for classifier, result in outputs:
        name, version = classifier.name[:100], str(classifier.version)[:100]
        if isinstance(result, Exception):
            rows.append((post.pk, name, version, "error", 0.0, {"error": str(result)[:500]}, now))
            continue
        for cat, score in result.scores.items():
            detail = result.detail.get(cat)
            rows.append(
                (post.pk, name, version, cat, float(score), {"matched": detail} if detail else {}, now)
            )
    return rows


def moderate(post_ids) -> int:
    """Decide the pending posts among ``post_ids``. Returns how many were decided."""
    from .models import ClassifierScore

    ids = sorted({int(i) for i in post_ids})
    if not ids:
        return 0
    with transaction.atomic():
        qs = Post.objects.filter(
            pk__in=ids, moderation_state=ModerationState.PENDING, deleted_at__isnull=True
        )
        if connection.features.has_select_for_update_skip_locked:
            qs = qs.select_for_update(skip_locked=True, of=("self",))
        posts = list(qs.select_related("author").order_by("pk"))
        if not posts:
            return 0
        items = [
            Item(
                post_id=p.pk,
                text=p.text,
                normalised=normalise(p.text),
                author_id=p.author_id,
                author_joined=p.author.date_joined,
                created_at=p.created_at,
            )
            for p in posts
        ]
        classifiers = enabled_classifiers()
        outputs = classify(items, classifiers)
        limited = accounts.limited_ids({p.author_id for p in posts})
        memo: dict[int, dict] = {}  # thresholds read once per batch, not per post
        decisions = [
            policy.decide(out, limited=p.author_id in limited, thresholds_memo=memo)
            for p, out in zip(posts, outputs, strict=True)
        ]
        now = timezone.now()
        rows = []
        for post, out in zip(posts, outputs, strict=True):
            rows.extend(score_rows(post, out, now))
        fastinsert.insert_rows(ClassifierScore, SCORE_FIELDS, rows)
        label = ",".join(c.label for c in classifiers) or "no classifiers"
        automated.apply_automated(posts, decisions, label)
        second_stage.after_first_stage(posts, decisions)
    return len(posts)


def moderate_batch(own_ids) -> int:
    """A task's work: its own ids plus whatever else is waiting, up to the batch size."""
    own = [int(i) for i in own_ids]
    extra = drain(max(0, settings.HOLDFAST_MODERATION_BATCH_SIZE - len(own)))
    try:
        done = moderate(own + extra)
    except Exception:
        give_back(extra)
        raise
    if extra and not tasks_run_eagerly():
        follow_up()
    return done


def follow_up() -> None:
    """More ids waiting? Queue another task for them (the list has no task of its own)."""
    try:
        if redis_client().llen(LIST_KEY):
            dispatch.queue_task(dispatch.MODERATE_POSTS, [], queue="moderation")
    except Exception as exc:  # the sweeper will find them
        logger.warning("could not queue a follow-up moderation task: %s", exc)


def sweep(age: float | None = None, limit: int = 20000) -> int:
    """Re-queue posts still pending after ``age`` seconds (broker outages, lost workers)."""
    age = settings.HOLDFAST_MODERATION_SWEEP_AGE if age is None else age
    cutoff = timezone.now() - timedelta(seconds=age)
    ids = list(
        Post.objects.filter(
            moderation_state=ModerationState.PENDING, deleted_at__isnull=True, created_at__lte=cutoff
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    size = settings.HOLDFAST_MODERATION_BATCH_SIZE
    for start in range(0, len(ids), size):
        dispatch.queue_task(dispatch.MODERATE_POSTS, ids[start : start + size], queue="moderation")
    if ids:
        logger.info("sweeper re-queued %d pending posts", len(ids))
    return len(ids)
