"""The moderation service layer: the review UI, the API, the tasks and the commands all
call these functions, so every decision is taken (and audited) the same way.

Human decisions follow Mastodon's account-action shape: in one transaction apply the
sanction, record the strike, resolve the target's open reports, write the audit entry,
then tell the author and the reporters.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q
from django.http import Http404
from django.utils import timezone

from microblog.notifications.services import notify
from microblog.posts.models import FeedEntry, ModerationState, Post
from microblog.posts.services import _fan_out, withdraw_post

from . import fastinsert
from .models import (
    OPEN_STATUSES,
    AccountAction,
    AccountActionKind,
    Appeal,
    AppealStatus,
    AuditEntry,
    CaseStatus,
    Category,
    ModerationCase,
    Outcome,
    Report,
    Strike,
    Verdict,
)

User = get_user_model()

SEVERITY_WEIGHT = {"violence": 40.0, "hate": 30.0, "spam": 15.0, "offensive": 10.0, "other": 5.0, "": 5.0}
REPORT_WEIGHT = 15.0
ESCALATION_WEIGHT = 50.0
DECISIONS = ("approve", "remove", "escalate", "dismiss")
MAX_ACTION_DAYS = 3650


# Who may moderate ---------------------------------------------------------------------------


def is_moderator(user) -> bool:
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    cached = getattr(user, "_is_moderator", None)
    if cached is None:
        cached = user._is_moderator = user.groups.filter(name="moderator").exists()
    return cached


def require_moderator(user) -> None:
    if not is_moderator(user):
        raise PermissionDenied("Only moderators can do this.")


# Audit --------------------------------------------------------------------------------------


def audit(
    actor,
    action: str,
    target_type: str,
    target_id: int,
    reason: str = "",
    detail: dict | None = None,
    actor_label: str = "",
) -> AuditEntry:
    label = actor_label or (actor.username if actor is not None else "system")
    return AuditEntry.objects.create(
        actor=actor,
        actor_label=label[:200],
        action=action,
        target_type=target_type,
        target_id=target_id,
        reason=reason,
        detail=detail or {},
    )


# Cases and priority -------------------------------------------------------------------------


def reach(account) -> float:
    return min(20.0, 4.0 * math.log2(1 + (account.followers_count or 0)))


def base_priority(category: str, score: float, account) -> float:
    """Severity first, then how sure the classifier is, then how many people it reaches.
    Age breaks ties in the queue (older first)."""
    return SEVERITY_WEIGHT.get(category, 5.0) + 10.0 * float(score or 0.0) + reach(account)


def open_case_for(
    *, account, post=None, category: str = "", priority: float = 0.0, reasons=(), automated: bool = False
) -> tuple[ModerationCase, bool]:
    """The open case for this post (or account), created if there is none; merged otherwise."""
    qs = ModerationCase.objects.select_for_update().filter(status__in=OPEN_STATUSES)
    qs = qs.filter(post=post) if post is not None else qs.filter(post__isnull=True, account=account)
    case = qs.first()
    if case is None:
        try:
            with transaction.atomic():
                case = ModerationCase.objects.create(
                    post=post,
                    account=account,
                    category=category,
                    priority=priority,
                    reasons=list(reasons),
                    automated=automated,
                )
            return case, True
        except IntegrityError:  # created concurrently: merge into that one
            case = qs.get()
    case.reasons = [*case.reasons, *reasons]
    if category and SEVERITY_WEIGHT.get(category, 0) > SEVERITY_WEIGHT.get(case.category, 0):
        case.category = category
    case.priority = max(case.priority, priority)
    case.save(update_fields=["reasons", "category", "priority"])
    return case, False


def get_case(case_id) -> ModerationCase:
    try:
        return ModerationCase.objects.select_related("post", "account", "claimed_by").get(pk=int(case_id))
    except (ModerationCase.DoesNotExist, TypeError, ValueError):
        raise Http404("No such case.") from None


def queue(status: str = "open", category: str = "", limit: int = 50, before: int | None = None):
    qs = ModerationCase.objects.select_related("post", "account", "claimed_by")
    if status == "open":
        qs = qs.filter(status__in=OPEN_STATUSES)
    elif status in CaseStatus.values:
        qs = qs.filter(status=status)
    else:
        raise ValidationError({"status": f"Choose one of: open, {', '.join(CaseStatus.values)}."})
    if category:
        if category not in Category.values:
            raise ValidationError({"category": f"Choose one of: {', '.join(Category.values)}."})
        qs = qs.filter(category=category)
    return qs.order_by("-priority", "created_at", "id")


AGE_WEIGHT = 2.0  # priority points per hour waiting, up to a day
AGE_CAP_HOURS = 24.0


def rank(case, now=None) -> float:
    """Severity, score, reach and reports (in ``priority``) plus time waiting."""
    now = now or timezone.now()
    hours = min(AGE_CAP_HOURS, max(0.0, (now - case.created_at).total_seconds() / 3600))
    return case.priority + AGE_WEIGHT * hours


def ranked_queue(status: str = "open", category: str = "", limit: int = 50) -> list[ModerationCase]:
    """The queue in review order: ``rank`` descending, oldest first among equals."""
    now = timezone.now()
    # Waiting can add at most AGE_WEIGHT * AGE_CAP_HOURS, so the top ``limit`` by rank are
    # among the cases whose priority is within that of the limit-th highest.
    candidates = list(queue(status, category)[: max(limit * 5, 200)])
    candidates.sort(key=lambda c: (-rank(c, now), c.created_at, c.pk))
    return candidates[:limit]


# Automated verdicts (called by the pipeline) -----------------------------------------------


def _latency(post, now) -> float:
    return max(0.0, (now - (post.edited_at or post.created_at)).total_seconds())


def removal_message(reason: str, case) -> str:
    return f"Your post was removed: {reason}. You can appeal once at /moderation/appeal/{case.pk}/"


def _notify_removed(post, case, reason: str) -> None:
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


VERDICT_FIELDS = (
    "post_id", "action", "category", "reason", "automated", "decided_by_id", "classifiers", "latency",
    "created_at",
)
AUDIT_FIELDS = (
    "actor_id", "actor_label", "action", "target_type", "target_id", "reason", "detail", "created_at",
)


def apply_automated(posts: list[Post], decisions: list, classifiers_label: str) -> dict[str, int]:
    """Apply the classifiers' decisions to pending posts (locked by the caller), in bulk.

    Allowed and held posts cost a few statements per batch; removals withdraw each post
    and record a resolved case, a strike and a notice with an appeal link. The caller
    only passes posts that are still pending, so a re-delivered batch changes nothing twice.
    """
    from microblog.notifications.models import Notification

    now = timezone.now()
    label = classifiers_label[:150]
    counts = {"allow": 0, "review": 0, "remove": 0}
    by_action: dict[str, list[tuple[Post, object]]] = {"allow": [], "review": [], "remove": []}
    for post, d in zip(posts, decisions, strict=True):
        counts[d.action] += 1
        by_action[d.action].append((post, d))
    states = {
        "allow": ModerationState.ALLOWED,
        "review": ModerationState.HELD,
        "remove": ModerationState.REMOVED,
    }
    for action, pairs in by_action.items():
        if pairs:
            Post.objects.filter(
                pk__in=[p.pk for p, _ in pairs], moderation_state=ModerationState.PENDING
            ).update(moderation_state=states[action])
    flagged = by_action["review"] + by_action["remove"]
    existing = {}
    if flagged:
        existing = {
            c.post_id: c
            for c in ModerationCase.objects.select_for_update().filter(
                post_id__in=[p.pk for p, _ in flagged], status__in=OPEN_STATUSES
            )
        }
    new_cases, merged = [], []
    for post, d in flagged:
        removed = d.action == "remove"
        fields = dict(
            category=d.category,
            priority=base_priority(d.category, d.score, post.author),
            reasons=list(d.reasons),
        )
        case = existing.get(post.pk)
        if case is None:
            new_cases.append(
                ModerationCase(
                    post=post,
                    account_id=post.author_id,
                    automated=True,
                    **fields,
                    **(
                        dict(
                            status=CaseStatus.RESOLVED,
                            outcome=Outcome.REMOVED,
                            decided_at=now,
                            decided_by_label=label,
                            decision_reason=d.reason[:2000],
                        )
                        if removed
                        else {}
                    ),
                )
            )
        else:  # reported before the classifiers finished: merge, and resolve if removed
            case.reasons = [*case.reasons, *d.reasons]
            case.priority = max(case.priority, fields["priority"])
            if removed:
                case.status, case.outcome, case.decided_at = CaseStatus.RESOLVED, Outcome.REMOVED, now
                case.decided_by_label, case.decision_reason = label, d.reason[:2000]
            case.save()
            merged.append(case)
    cases = {c.post_id: c for c in [*ModerationCase.objects.bulk_create(new_cases), *merged]}
    notices, strikes, strike_audits = [], [], []
    withdraw_many([p for p, _ in by_action["remove"]])
    for post, d in by_action["remove"]:
        case = cases[post.pk]
        notices.append(
            Notification(
                recipient_id=post.author_id,
                kind="moderation",
                post=post,
                message=removal_message(d.reason, case),
            )
        )
        strikes.append(Strike(account_id=post.author_id, case=case, reason=d.reason[:2000]))
        strike_audits.append(
            (None, label, "strike", "account", post.author_id, d.reason[:2000], {"case": case.pk})
        )
        if case in merged:
            _resolve_reports(case, "we removed it")
    if notices:
        Notification.objects.bulk_create(notices)
        Strike.objects.bulk_create(strikes)
    # Plain tuples, not model instances: two rows per post, and building a Django model
    # costs more than writing its row.
    written = timezone.now()
    verdict_label = classifiers_label[:300]
    fastinsert.insert_rows(
        Verdict,
        VERDICT_FIELDS,
        [
            (post.pk, d.action, d.category, d.reason[:2000], True, None, verdict_label,
             _latency(post, now), written)
            for post, d in zip(posts, decisions, strict=True)
        ],
    )
    audit_label = classifiers_label[:200]
    fastinsert.insert_rows(
        AuditEntry,
        AUDIT_FIELDS,
        [
            *[
                (
                    None,
                    audit_label,
                    f"auto_{d.action}",
                    "post",
                    post.pk,
                    d.reason[:2000],
                    {"category": d.category, "score": round(d.score, 4)},
                    written,
                )
                for post, d in zip(posts, decisions, strict=True)
            ],
            *[(*row, written) for row in strike_audits],
        ],
    )
    struck: dict[int, list[Post]] = {}
    for post, _ in by_action["remove"]:
        struck.setdefault(post.author_id, []).append(post)
    if struck:
        totals = strike_counts(struck)
        for author_id, removed_posts in struck.items():
            _escalate(
                removed_posts[-1].author,
                cases[removed_posts[-1].pk],
                new=len(removed_posts),
                count=totals.get(author_id, 0),
            )
    return counts


# Limits and suspensions ---------------------------------------------------------------------


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
    _lift(action, moderator, reason)


def _lift(action: AccountAction, actor, reason: str, actor_label: str = "") -> None:
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
            _lift(action, None, "suspension ended", actor_label="scheduler")
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


def _strike(account, case, reason: str, actor, actor_label: str = "") -> Strike:
    strike = Strike.objects.create(account=account, case=case, reason=reason[:2000])
    audit(actor, "strike", "account", account.pk, reason, {"case": case.pk}, actor_label=actor_label)
    _escalate(account, case)
    return strike


def _escalate(account, case, new: int = 1, count: int | None = None) -> None:
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


# Reports ------------------------------------------------------------------------------------


@transaction.atomic
def report(
    reporter, *, category: str, post_id=None, username: str | None = None, comment: str = ""
) -> Report:
    """Report a post or an account; reports on the same item merge into one case."""
    from microblog.posts.timelines import get_visible_post

    if category not in Category.values:
        raise ValidationError({"category": f"Choose one of: {', '.join(Category.values)}."})
    comment = (comment or "").strip()
    if len(comment) > 1000:
        raise ValidationError({"comment": "At most 1000 characters."})
    if (post_id is None) == (not username):
        raise ValidationError({"non_field_errors": ["Report either a post or an account."]})
    post = None
    if post_id is not None:
        try:
            post = get_visible_post(reporter, int(post_id))
        except (TypeError, ValueError):
            raise ValidationError({"post": "Enter a post id."}) from None
        account = post.author
    else:
        account = User.objects.filter(username__iexact=username, is_active=True).first()
        if account is None:
            raise Http404("No such account.")
    if account.pk == reporter.pk:
        raise ValidationError({"non_field_errors": ["You cannot report yourself."]})
    if Report.objects.filter(
        reporter=reporter, post=post, account=account, case__status__in=OPEN_STATUSES
    ).exists():
        raise ValidationError(
            {"non_field_errors": ["You have already reported this; moderators will look at it."]}
        )
    case, created = open_case_for(
        account=account,
        post=post,
        category=category,
        priority=base_priority(category, 0.0, account),
        reasons=[f"reported by @{reporter.username} as {category}"],
    )
    ModerationCase.objects.filter(pk=case.pk).update(
        report_count=F("report_count") + 1, priority=F("priority") + REPORT_WEIGHT
    )
    rep = Report.objects.create(
        reporter=reporter, post=post, account=account, category=category, comment=comment, case=case
    )
    audit(
        reporter,
        "report",
        "post" if post else "account",
        post.pk if post else account.pk,
        comment,
        {"category": category, "case": case.pk, "merged": not created},
    )
    return rep


def _resolve_reports(case, outcome_text: str) -> None:
    told = set()
    for rep in case.reports.select_related("reporter"):
        if rep.reporter_id in told:
            continue
        told.add(rep.reporter_id)
        what = "the post" if case.post_id else f"@{case.account.username}"
        notify(
            recipient=rep.reporter,
            kind="moderation",
            post=None,
            message=f"Thank you for your report on {what}: {outcome_text}.",
        )


# Human decisions ----------------------------------------------------------------------------


@transaction.atomic
def claim(moderator, case: ModerationCase, release: bool = False) -> ModerationCase:
    require_moderator(moderator)
    case = ModerationCase.objects.select_for_update().get(pk=case.pk)
    if not case.is_open:
        raise ValidationError({"non_field_errors": ["This case is already decided."]})
    if release:
        if case.claimed_by_id not in (None, moderator.pk):
            raise PermissionDenied("Another moderator has claimed this case.")
        case.claimed_by, case.claimed_at = None, None
    else:
        if case.claimed_by_id and case.claimed_by_id != moderator.pk:
            raise ValidationError({"non_field_errors": [f"Already claimed by @{case.claimed_by.username}."]})
        case.claimed_by, case.claimed_at = moderator, timezone.now()
    case.save(update_fields=["claimed_by", "claimed_at"])
    audit(moderator, "release" if release else "claim", "case", case.pk)
    return case


@transaction.atomic
def decide_case(moderator, case: ModerationCase, decision: str, reason: str = "") -> ModerationCase:
    """approve / remove / escalate / dismiss, with everything that follows from it."""
    require_moderator(moderator)
    if decision not in DECISIONS:
        raise ValidationError({"decision": f"Choose one of: {', '.join(DECISIONS)}."})
    case = ModerationCase.objects.select_for_update().get(pk=case.pk)
    if not case.is_open:
        raise ValidationError({"non_field_errors": ["This case is already decided."]})
    if case.claimed_by_id and case.claimed_by_id != moderator.pk:
        raise PermissionDenied(f"@{case.claimed_by.username} has claimed this case.")
    reason = (reason or "").strip()
    if decision == "remove":
        if case.post_id is None:
            raise ValidationError(
                {"decision": "An account case has no post to remove: take an account action."}
            )
        if not reason:
            raise ValidationError({"reason": "Say why: the author is told."})
    now = timezone.now()
    post = Post.objects.select_related("author").get(pk=case.post_id) if case.post_id else None
    if decision == "escalate":
        case.status, case.claimed_by, case.claimed_at = CaseStatus.ESCALATED, None, None
        case.priority += ESCALATION_WEIGHT
        case.save(update_fields=["status", "claimed_by", "claimed_at", "priority"])
        audit(moderator, "escalate", "case", case.pk, reason, {"post": case.post_id})
        return case
    case.status, case.decided_by, case.decided_at = CaseStatus.RESOLVED, moderator, now
    case.decided_by_label, case.decision_reason = moderator.username, reason
    if decision == "remove":
        case.outcome = Outcome.REMOVED
        remove_post(post)
        verdict_action = "remove"
    else:
        case.outcome = Outcome.APPROVED if decision == "approve" else Outcome.DISMISSED
        verdict_action = "allow"
        if post is not None and post.moderation_state in (ModerationState.HELD, ModerationState.PENDING):
            Post.objects.filter(pk=post.pk).update(moderation_state=ModerationState.ALLOWED)
    case.save(
        update_fields=["status", "decided_by", "decided_at", "decided_by_label", "decision_reason", "outcome"]
    )
    if post is not None:
        Verdict.objects.create(
            post=post,
            action=verdict_action,
            category=case.category,
            reason=reason,
            automated=False,
            decided_by=moderator,
            latency=_latency(post, now),
        )
    audit(
        moderator,
        decision,
        "post" if post else "account",
        post.pk if post else case.account_id,
        reason,
        {"case": case.pk, "category": case.category},
    )
    if decision == "remove":
        _notify_removed(post, case, reason)
        _strike(post.author, case, reason, actor=moderator)
        _resolve_reports(case, "we removed it")
    else:
        _resolve_reports(
            case, "we found no violation of the rules" if decision != "dismiss" else "no action taken"
        )
    return case


@transaction.atomic
def act_on_case(moderator, case: ModerationCase, kind: str, days=0, reason: str = "") -> AccountAction:
    """Take an account action against a case's account and resolve the case."""
    require_moderator(moderator)
    case = ModerationCase.objects.select_for_update().get(pk=case.pk)
    if not case.is_open:
        raise ValidationError({"non_field_errors": ["This case is already decided."]})
    action = take_account_action(moderator, case.account, kind, days=days, reason=reason, case=case)
    ModerationCase.objects.filter(pk=case.pk).update(
        status=CaseStatus.RESOLVED,
        outcome=Outcome.ACTIONED,
        decided_by=moderator,
        decided_at=timezone.now(),
        decided_by_label=moderator.username,
        decision_reason=reason,
    )
    if case.post_id and case.post.moderation_state == ModerationState.HELD:
        Post.objects.filter(pk=case.post_id).update(moderation_state=ModerationState.ALLOWED)
    _resolve_reports(case, f"we took action against the account ({kind})")
    return action


def bulk_decide(moderator, case_ids: Iterable, decision: str, reason: str = "") -> dict:
    require_moderator(moderator)
    done, errors = [], {}
    for case_id in case_ids:
        try:
            decide_case(moderator, get_case(case_id), decision, reason)
            done.append(int(case_id))
        except (ValidationError, PermissionDenied, Http404) as exc:
            errors[str(case_id)] = "; ".join(getattr(exc, "messages", [str(exc)]))
    return {"decided": done, "errors": errors}


# Appeals ------------------------------------------------------------------------------------


@transaction.atomic
def appeal_deadline(case: ModerationCase) -> datetime | None:
    """Until when the decision on this case can be appealed (None: no limit)."""
    days = settings.HOLDFAST_MODERATION_APPEAL_WINDOW_DAYS
    if not days or case.decided_at is None:
        return None
    return case.decided_at + timedelta(days=days)


def appeal(author, case: ModerationCase, text: str) -> Appeal:
    """The author appeals a removal or account action once, within the appeal window."""
    text = (text or "").strip()
    owner_id = case.post.author_id if case.post_id else case.account_id
    if owner_id != author.pk:
        raise PermissionDenied("You can only appeal decisions about your own posts or account.")
    if case.status != CaseStatus.RESOLVED or case.outcome not in (Outcome.REMOVED, Outcome.ACTIONED):
        raise ValidationError({"non_field_errors": ["Only removals and account actions can be appealed."]})
    deadline = appeal_deadline(case)
    if deadline is not None and timezone.now() > deadline:
        raise ValidationError(
            {"non_field_errors": [f"The time to appeal this decision ended on {deadline:%Y-%m-%d}."]}
        )
    if not text:
        raise ValidationError({"text": "Say why the decision was wrong."})
    if len(text) > 2000:
        raise ValidationError({"text": "At most 2000 characters."})
    if Appeal.objects.filter(case=case).exists():
        raise ValidationError(
            {
                "non_field_errors": [
                    "You have already appealed this decision: each decision can be appealed once."
                ]
            }
        )
    item = Appeal.objects.create(case=case, author=author, text=text)
    audit(author, "appeal", "case", case.pk, text, {"appeal": item.pk})
    return item


@transaction.atomic
def decide_appeal(moderator, item: Appeal, reverse: bool, reason: str = "") -> Appeal:
    require_moderator(moderator)
    item = Appeal.objects.select_for_update(of=("self",)).select_related("case", "case__post").get(pk=item.pk)
    if item.status != AppealStatus.PENDING:
        raise ValidationError({"non_field_errors": ["This appeal is already decided."]})
    case = item.case
    if case.decided_by_id == moderator.pk:
        raise PermissionDenied("A different moderator must decide an appeal against your decision.")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why: the author is told."})
    now = timezone.now()
    item.status = AppealStatus.REVERSED if reverse else AppealStatus.UPHELD
    item.decided_by, item.decided_at, item.decision_reason = moderator, now, reason
    item.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
    if reverse:
        if case.post_id:
            restore_post(case.post)
            Verdict.objects.create(
                post=case.post,
                action="allow",
                category=case.category,
                reason=f"appeal reversed: {reason}",
                automated=False,
                decided_by=moderator,
                latency=_latency(case.post, now),
            )
        Strike.objects.filter(case=case, cleared_at__isnull=True).update(cleared_at=now)
        for action in AccountAction.objects.filter(case=case, lifted_at__isnull=True):
            _lift(action, moderator, f"appeal reversed: {reason}")
    audit(
        moderator,
        "appeal_reversed" if reverse else "appeal_upheld",
        "case",
        case.pk,
        reason,
        {"appeal": item.pk, "post": case.post_id},
    )
    owner = case.post.author if case.post_id else case.account
    notify(
        recipient=owner,
        kind="moderation",
        post=case.post if case.post_id else None,
        message=(
            "Your appeal was accepted: the decision is reversed. "
            if reverse
            else "Your appeal was reviewed and the decision stands. "
        )
        + reason,
    )
    return item
