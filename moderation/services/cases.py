"""Cases and the review queue: opening and merging cases, their priority and rank, and
moderators' decisions on them (claim, approve/remove/escalate/dismiss, account actions).

Human decisions follow Mastodon's account-action shape: in one transaction apply the
sanction, record the strike, resolve the target's open reports, write the audit entry,
then tell the author and the reporters.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone

from microblog.notifications.services import notify
from microblog.posts.models import ModerationState, Post

from ..models import (
    OPEN_STATUSES,
    AccountAction,
    CaseStatus,
    Category,
    ModerationCase,
    Outcome,
    Verdict,
)
from .accounts import add_strike, take_account_action
from .audit import audit
from .moderators import require_moderator
from .verdicts import notify_removed, remove_post, verdict_latency

SEVERITY_WEIGHT = {"violence": 40.0, "hate": 30.0, "spam": 15.0, "offensive": 10.0, "other": 5.0, "": 5.0}
ESCALATION_WEIGHT = 50.0
DECISIONS = ("approve", "remove", "escalate", "dismiss")


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


def tell_reporters(case, outcome_text: str) -> None:
    """Thank each reporter of the case (once) and tell them the outcome."""
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
            latency=verdict_latency(post, now),
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
        notify_removed(post, case, reason)
        add_strike(post.author, case, reason, actor=moderator)
        tell_reporters(case, "we removed it")
    else:
        tell_reporters(
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
    tell_reporters(case, f"we took action against the account ({kind})")
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
