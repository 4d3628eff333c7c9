"""Account and social-graph rules, shared by the web UI, the API and commands."""

from datetime import timedelta

from django.contrib.auth import password_validation
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.http import Http404
from django.utils import timezone

from microblog.counters import change_count
from microblog.posts.models import FeedEntry, Post
from microblog.rows import model_columns

from .models import AccessToken, Block, Follow, Mute, User, hash_token, username_validator

# Names that would shadow a URL (/api/v1/accounts/me) or impersonate the site.
RESERVED_USERNAMES = {
    "me",
    "admin",
    "administrator",
    "api",
    "moderation",
    "moderator",
    "settings",
    "root",
    "support",
    "holdfast",
    "staff",
    "system",
}


def get_account(username: str) -> User:
    try:
        return User.objects.get(username__iexact=username, is_active=True)
    except User.DoesNotExist:
        raise Http404(f"No account @{username}.") from None


def sign_up(*, username: str, password: str, email: str = "", display_name: str = "") -> User:
    errors: dict[str, list[str]] = {}
    username = (username or "").strip()
    try:
        username_validator(username)
    except ValidationError as exc:
        errors["username"] = exc.messages
    else:
        if username.lower() in RESERVED_USERNAMES:
            errors["username"] = ["That username is reserved."]
        elif User.objects.filter(username__iexact=username).exists():
            errors["username"] = ["That username is taken."]
    if email:
        from django.core.validators import validate_email

        try:
            validate_email(email)
        except ValidationError as exc:
            errors["email"] = exc.messages
    candidate = User(username=username, email=email, display_name=display_name[:50])
    try:
        password_validation.validate_password(password or "", candidate)
    except ValidationError as exc:
        errors["password"] = exc.messages
    if errors:
        raise ValidationError(errors)
    candidate.set_password(password)
    try:
        candidate.save()
    except IntegrityError:
        # Two sign-ups raced for the same name: the case-insensitive constraint caught it.
        raise ValidationError({"username": ["That username is taken."]}) from None
    return candidate


def is_blocked_between(a_id: int, b_id: int) -> bool:
    return Block.objects.filter(
        Q(blocker_id=a_id, blocked_id=b_id) | Q(blocker_id=b_id, blocked_id=a_id)
    ).exists()


@transaction.atomic
def follow(follower: User, followee: User) -> Follow:
    if follower.pk == followee.pk:
        raise ValidationError({"account": "You cannot follow yourself."})
    if is_blocked_between(follower.pk, followee.pk):
        raise PermissionDenied("You cannot follow this account.")
    existing = Follow.objects.filter(follower=follower, followee=followee).first()
    if existing:
        return existing
    relation = Follow.objects.create(follower=follower, followee=followee)
    change_count(User, follower.pk, "following_count")
    change_count(User, followee.pk, "followers_count")
    _backfill_feed(follower, followee)
    from microblog.notifications.services import notify

    notify(recipient=followee, actor=follower, kind="follow")
    return relation


def _backfill_feed(owner: User, author: User, depth: int = 40) -> None:
    """Put the newest posts of a newly followed account into the follower's home feed."""
    post_ids = (
        Post.objects.filter(author=author, deleted_at__isnull=True)
        .order_by("-id")
        .values_list("id", flat=True)[:depth]
    )
    FeedEntry.objects.bulk_create(
        [FeedEntry(owner=owner, post_id=pid) for pid in post_ids], ignore_conflicts=True
    )


@transaction.atomic
def unfollow(follower: User, followee: User) -> None:
    deleted, _ = Follow.objects.filter(follower=follower, followee=followee).delete()
    if deleted:
        change_count(User, follower.pk, "following_count", -1)
        change_count(User, followee.pk, "followers_count", -1)
        FeedEntry.objects.filter(owner=follower, post__author=followee).delete()


@transaction.atomic
def block(blocker: User, blocked: User) -> Block:
    if blocker.pk == blocked.pk:
        raise ValidationError({"account": "You cannot block yourself."})
    relation, _ = Block.objects.get_or_create(blocker=blocker, blocked=blocked)
    unfollow(blocker, blocked)
    unfollow(blocked, blocker)
    return relation


def unblock(blocker: User, blocked: User) -> None:
    Block.objects.filter(blocker=blocker, blocked=blocked).delete()


@transaction.atomic
def mute(muter: User, muted: User) -> Mute:
    if muter.pk == muted.pk:
        raise ValidationError({"account": "You cannot mute yourself."})
    relation, _ = Mute.objects.get_or_create(muter=muter, muted=muted)
    FeedEntry.objects.filter(owner=muter, post__author=muted).delete()
    return relation


@transaction.atomic
def unmute(muter: User, muted: User) -> None:
    if (
        Mute.objects.filter(muter=muter, muted=muted).delete()[0]
        and Follow.objects.filter(follower=muter, followee=muted).exists()
    ):
        _backfill_feed(muter, muted)


def follow_list(account: User, direction: str, before: int | None = None, limit: int = 20):
    """Followers or followed accounts, newest relation first: (people, cursor of the next page)."""
    if direction == "followers":
        qs, person = Follow.objects.filter(followee=account).select_related("follower"), "follower"
    else:
        qs, person = Follow.objects.filter(follower=account).select_related("followee"), "followee"
    if before:
        qs = qs.filter(id__lt=before)
    rows = list(qs.order_by("-id")[: limit + 1])
    cursor = rows[limit - 1].pk if len(rows) > limit else None
    return [getattr(row, person) for row in rows[:limit]], cursor


def relationship(viewer: User | None, other: User) -> dict[str, bool]:
    """What the viewer's relation to another account is, for buttons and the API."""
    if viewer is None or not viewer.is_authenticated or viewer.pk == other.pk:
        return {"following": False, "followed_by": False, "blocking": False, "muting": False}
    return {
        "following": Follow.objects.filter(follower=viewer, followee=other).exists(),
        "followed_by": Follow.objects.filter(follower=other, followee=viewer).exists(),
        "blocking": Block.objects.filter(blocker=viewer, blocked=other).exists(),
        "muting": Mute.objects.filter(muter=viewer, muted=other).exists(),
    }


def update_profile(user: User, **fields) -> User:
    allowed = {"display_name", "bio", "avatar", "email"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError({name: "This field cannot be changed here." for name in unknown})
    if fields.get("avatar"):
        from django.core.files.base import ContentFile

        from microblog.posts.media import validate_image

        image = validate_image(fields["avatar"], field_name="avatar")
        fields["avatar"] = ContentFile(image.data, name=f"avatar.{image.extension}")
    for name in ("display_name", "bio"):
        if name in fields:
            fields[name] = (fields[name] or "").strip()
    for name, value in fields.items():
        setattr(user, name, value)
    user.full_clean(exclude=["password", "username", "avatar"])
    try:
        user.save(update_fields=list(fields))
    except OSError as exc:
        from microblog.errors import ServiceUnavailable

        raise ServiceUnavailable("Media storage is unavailable right now; try again later.") from exc
    return user


def create_access_token(user: User, name: str) -> tuple[AccessToken, str]:
    """Create a token and return it with its secret, which is never shown again."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ValidationError({"name": "Give the token a name of 1 to 100 characters."})
    raw = AccessToken.generate()
    token = AccessToken.objects.create(user=user, name=name, token_hash=hash_token(raw))
    return token, raw


def revoke_access_token(user: User, token_id: int) -> None:
    deleted, _ = AccessToken.objects.filter(user=user, pk=token_id).delete()
    if not deleted:
        raise Http404("No such token.")


def user_for_token(raw: str) -> User | None:
    """The active account a personal access token belongs to, or None.

    Every API request runs this, so it is one plain query whose row becomes the user
    directly: built through the ORM (or a raw queryset), it cost more CPU than the rest of
    a small request.
    """
    users, tokens = User._meta.db_table, AccessToken._meta.db_table
    user_columns = model_columns(User, "u", connection.vendor)
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            # Record use at most once a minute so token auth does not write on every request.
            "SELECT t.id, (t.last_used_at IS NULL OR t.last_used_at < %s), "  # noqa: S608 - names from the models
            f"{user_columns.select} FROM {tokens} t JOIN {users} u ON u.id = t.user_id "
            "WHERE t.token_hash = %s AND u.is_active",
            [now - timedelta(seconds=60), hash_token(raw)],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    token_id, use_is_stale, *values = row
    if use_is_stale:
        AccessToken.objects.filter(pk=token_id).update(last_used_at=now)
    return user_columns.load(values, connection.alias)


def get_account_by_id(account_id) -> User:
    """An active account by its id (Mastodon's API names accounts by id)."""
    try:
        return User.objects.get(pk=int(account_id), is_active=True)
    except (User.DoesNotExist, TypeError, ValueError, OverflowError):
        raise Http404("No such account.") from None


def relationships(viewer: User, others: list[User]) -> dict[int, dict[str, bool]]:
    """``relationship`` for many accounts in four queries, by account id."""
    ids = [other.pk for other in others]
    following = set(
        Follow.objects.filter(follower=viewer, followee_id__in=ids).values_list("followee_id", flat=True)
    )
    followed_by = set(
        Follow.objects.filter(followee=viewer, follower_id__in=ids).values_list("follower_id", flat=True)
    )
    blocking = set(
        Block.objects.filter(blocker=viewer, blocked_id__in=ids).values_list("blocked_id", flat=True)
    )
    blocked_by = set(
        Block.objects.filter(blocked=viewer, blocker_id__in=ids).values_list("blocker_id", flat=True)
    )
    muting = set(Mute.objects.filter(muter=viewer, muted_id__in=ids).values_list("muted_id", flat=True))
    return {
        pk: {
            "following": pk in following,
            "followed_by": pk in followed_by,
            "blocking": pk in blocking,
            "blocked_by": pk in blocked_by,
            "muting": pk in muting,
        }
        for pk in ids
    }


def blocked_accounts(user: User, before: int | None = None, limit: int = 40):
    """Accounts the user blocks, newest block first: (accounts, the next page's cursor)."""
    qs = Block.objects.filter(blocker=user, blocked__is_active=True).select_related("blocked")
    if before:
        qs = qs.filter(id__lt=before)
    rows = list(qs.order_by("-id")[: limit + 1])
    cursor = rows[limit - 1].pk if len(rows) > limit else None
    return [row.blocked for row in rows[:limit]], cursor


def muted_accounts(user: User, before: int | None = None, limit: int = 40):
    """Accounts the user mutes, newest mute first: (accounts, the next page's cursor)."""
    qs = Mute.objects.filter(muter=user, muted__is_active=True).select_related("muted")
    if before:
        qs = qs.filter(id__lt=before)
    rows = list(qs.order_by("-id")[: limit + 1])
    cursor = rows[limit - 1].pk if len(rows) > limit else None
    return [row.muted for row in rows[:limit]], cursor
