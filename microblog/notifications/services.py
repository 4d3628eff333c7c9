"""Creating and reading notifications."""

from django.db.models import Q
from django.utils import timezone

from .models import Notification


def notify(*, recipient, actor=None, kind: str, post=None, message: str = "") -> Notification | None:
    """Tell someone what happened, unless it was their own doing or they hid the actor."""
    from microblog.accounts.models import Block, Mute

    if actor is not None:
        if actor.pk == recipient.pk:
            return None
        hidden = (
            Block.objects.filter(
                Q(blocker=recipient, blocked=actor) | Q(blocker=actor, blocked=recipient)
            ).exists()
            or Mute.objects.filter(muter=recipient, muted=actor).exists()
        )
        if hidden:
            return None
    return Notification.objects.create(
        recipient=recipient, actor=actor, kind=kind, post=post, message=message
    )


def for_user(user, before: int | None = None, limit: int = 20) -> tuple[list[Notification], int | None]:
    qs = Notification.objects.filter(recipient=user).select_related("actor", "post", "post__author")
    if before is not None:
        qs = qs.filter(id__lt=before)
    items = list(qs.order_by("-id")[: limit + 1])
    next_cursor = None
    if len(items) > limit:
        items = items[:limit]
        next_cursor = items[-1].pk
    return items, next_cursor


def unread_count(user) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def mark_all_read(user) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).update(read_at=timezone.now())
