"""Account actions (warn, limit, suspend), their expiry, and strikes with the rules that
turn enough strikes into an automatic action (``HOLDFAST_MODERATION_STRIKE_RULES``)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from microblog.notifications.services import notify

from ..models import AccountAction, AccountActionKind, Strike
from .audit import audit
from .moderators import require_moderator

User = get_user_model()

MAX_ACTION_DAYS = 3650


def active_actions(kind: str, account_ids: Iterable[int] | None = None):
    now = timezone.now()
    qs = AccountAction.objects.filter(kind=kind, lifted_at__isnull=True).filter(
        Q(until__isnull=True) | Q(until__gt=now)
    )
    if account_ids is not None:
        qs = qs.filter(account_id__in=list(account_ids))
    return qs


def limited_ids(account_ids: Iterable[int]) -> set[int]:
    return set(active_actions(AccountActionKind.LIMIT, account_ids).values_list("account_id", flat=True))


def _clean_days(days) -> int:
    try:
        days = int(days)
    except (TypeError, ValueError):
        raise ValidationError({"days": "Enter a whole number of days (0 for no end date)."}) from None
    if not 0 <= days <= MAX_ACTION_DAYS:
        raise ValidationError({"days": f"Enter between 0 and {MAX_ACTION_DAYS} days (0 for no end date)."})
    return days


@transaction.atomic
def take_account_action(
    moderator,
    account,
    kind: str,
    *,
    days=0,
    reason: str = "",
    case=None,
    automatic: bool = False,
    actor_label: str = "",
) -> AccountAction:
    """Warn, limit (posts held for review) or suspend (no login, content hidden) an account."""
    if not automatic:
        require_moderator(moderator)
        if account.pk == moderator.pk:
            raise PermissionDenied("You cannot take action against your own account.")
    if account.is_superuser:
        raise PermissionDenied("Administrators cannot be actioned here.")
    if kind not in AccountActionKind.values:
        raise ValidationError({"kind": f"Choose one of: {', '.join(AccountActionKind.values)}."})
    reason = (reason or "").strip()
    if not reason and not automatic:
        raise ValidationError({"reason": "Say why: the account owner is told."})
    days = _clean_days(days)
    until = timezone.now() + timedelta(days=days) if days and kind != AccountActionKind.WARN else None
    action = AccountAction.objects.create(
        account=account,
        kind=kind,
        until=until,
        reason=reason[:2000],
        moderator=None if automatic else moderator,
        automatic=automatic,
        case=case,
    )
    if kind == AccountActionKind.SUSPEND:
        User.objects.filter(pk=account.pk).update(is_active=False)
    audit(
        None if automatic else moderator,
        f"account_{kind}",
        "account",
        account.pk,
        reason,
        {
            "until": until.isoformat() if until else None,
            "automatic": automatic,
            "case": case.pk if case else None,
        },
        actor_label=actor_label or ("strike rule" if automatic else ""),
    )
    span = f" until {until:%Y-%m-%d %H:%M} UTC" if until else ""
    messages = {
        "warn": f"A moderator warned you: {reason}",
        "limit": f"Your account is limited{span}: your posts are reviewed before others see them. {reason}",
        "suspend": f"Your account is suspended{span}. {reason}",
    }
    notify(recipient=account, kind="moderation", message=messages[kind].strip())
    return action


@transaction.atomic
def lift_account_action(moderator, action: AccountAction, reason: str = "") -> None:
    require_moderator(moderator)
    lift_action(action, moderator, reason)


def lift_action(action: AccountAction, actor, reason: str, actor_label: str = "") -> None:
    """Lift an action and audit it; the caller has checked who may (a moderator, an appeal,
    the scheduler)."""
    AccountAction.objects.filter(pk=action.pk, lifted_at__isnull=True).update(lifted_at=timezone.now())
    if (
        action.kind == AccountActionKind.SUSPEND
        and not active_actions(AccountActionKind.SUSPEND, [action.account_id]).exclude(pk=action.pk).exists()
    ):
        User.objects.filter(pk=action.account_id).update(is_active=True)
    audit(
        actor,
        f"lift_{action.kind}",
        "account",
        action.account_id,
        reason,
        {"action": action.pk},
        actor_label=actor_label,
    )


def expire_account_actions() -> int:
    """Lift suspensions whose time is up (limits simply stop applying)."""
    now = timezone.now()
    n = 0
    for action in AccountAction.objects.filter(
        kind=AccountActionKind.SUSPEND, lifted_at__isnull=True, until__lte=now
    ):
        with transaction.atomic():
            lift_action(action, None, "suspension ended", actor_label="scheduler")
        n += 1
    return n


def _strike_window():
    return timezone.now() - timedelta(days=settings.HOLDFAST_MODERATION_STRIKE_EXPIRY_DAYS)


def strike_counts(account_ids) -> dict[int, int]:
    rows = (
        Strike.objects.filter(
            account_id__in=list(account_ids), cleared_at__isnull=True, created_at__gte=_strike_window()
        )
        .values("account_id")
        .annotate(n=Count("id"))
        .values_list("account_id", "n")
    )
    return dict(rows)


def active_strikes(account) -> int:
    since = timezone.now() - timedelta(days=settings.HOLDFAST_MODERATION_STRIKE_EXPIRY_DAYS)
    return Strike.objects.filter(account=account, cleared_at__isnull=True, created_at__gte=since).count()


def add_strike(account, case, reason: str, actor, actor_label: str = "") -> Strike:
    """Record a strike for a removal, audit it, and apply the strike rules."""
    strike = Strike.objects.create(account=account, case=case, reason=reason[:2000])
    audit(actor, "strike", "account", account.pk, reason, {"case": case.pk}, actor_label=actor_label)
    apply_strike_rules(account, case)
    return strike


def apply_strike_rules(account, case, new: int = 1, count: int | None = None) -> None:
    """Apply the strike rule: when the active strikes reach a rule's count (``new`` strikes
    were just added), take the most severe rule reached."""
    count = active_strikes(account) if count is None else count
    reached = [r for r in settings.HOLDFAST_MODERATION_STRIKE_RULES if count - new < r["strikes"] <= count]
    if reached:
        rule = max(reached, key=lambda r: r["strikes"])
        take_account_action(
            None,
            account,
            rule["action"],
            days=rule["days"],
            reason=f"{count} strikes: automatic {rule['action']}",
            case=case,
            automatic=True,
        )
