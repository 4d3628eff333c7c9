"""Authors appealing a removal or an account action (once, within the appeal window), and
a different moderator deciding the appeal: a reversal restores the post, clears the strike
and lifts the case's account actions."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from microblog.notifications.services import notify

from ..models import AccountAction, Appeal, AppealStatus, CaseStatus, ModerationCase, Outcome, Strike, Verdict
from .accounts import lift_action
from .audit import audit
from .moderators import require_moderator
from .verdicts import restore_post, verdict_latency


def appeal_deadline(case: ModerationCase) -> datetime | None:
    """Until when the decision on this case can be appealed (None: no limit)."""
    days = settings.HOLDFAST_MODERATION_APPEAL_WINDOW_DAYS
    if not days or case.decided_at is None:
        return None
    return case.decided_at + timedelta(days=days)


@transaction.atomic
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
                latency=verdict_latency(case.post, now),
            )
        Strike.objects.filter(case=case, cleared_at__isnull=True).update(cleared_at=now)
        for action in AccountAction.objects.filter(case=case, lifted_at__isnull=True):
            lift_action(action, moderator, f"appeal reversed: {reason}")
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
