"""Creating and reading notifications."""

from collections.abc import Iterable

from django.db.models import Q
from django.http import Http404
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


def for_user(
    user,
    before: int | None = None,
    limit: int = 20,
    *,
    after: int | None = None,
    oldest_first: bool = False,
    kinds: Iterable[str] | None = None,
    exclude_kinds: Iterable[str] = (),
) -> tuple[list[Notification], int | None]:
    """A page of the user's notifications, newest first: (items, the next page's cursor).

    ``after``/``oldest_first`` page forwards (Mastodon's since_id/min_id); ``kinds`` and
    ``exclude_kinds`` keep or drop kinds of notification.
    """
    qs = Notification.objects.filter(recipient=user).select_related("actor", "post", "post__author")
    if before is not None:
        qs = qs.filter(id__lt=before)
    if after is not None:
        qs = qs.filter(id__gt=after)
    if kinds is not None:
        qs = qs.filter(kind__in=list(kinds))
    if exclude_kinds:
        qs = qs.exclude(kind__in=list(exclude_kinds))
    items = list(qs.order_by("id" if oldest_first else "-id")[: limit + 1])
    next_cursor = None
    if len(items) > limit:
        items = items[:limit]
        next_cursor = None if oldest_first else items[-1].pk
    if oldest_first:
        items.reverse()
    return items, next_cursor


def get_own(user, notification_id) -> Notification:
    """One of the user's notifications; anyone else's is as good as missing."""
    try:
        return Notification.objects.select_related("actor", "post", "post__author").get(
            pk=int(notification_id), recipient=user
        )
    except (Notification.DoesNotExist, TypeError, ValueError, OverflowError):
        raise Http404("No such notification.") from None


def dismiss(user, notification_id) -> None:
    get_own(user, notification_id).delete()


def clear(user) -> int:
    return Notification.objects.filter(recipient=user).delete()[0]


def mark_read_up_to(user, last_read_id: int) -> int:
    """Mark read every notification up to ``last_read_id`` (what a client's read marker says)."""
    return Notification.objects.filter(recipient=user, read_at__isnull=True, id__lte=last_read_id).update(
        read_at=timezone.now()
    )


def unread_count(user) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def mark_all_read(user) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).update(read_at=timezone.now())
