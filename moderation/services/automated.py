"""Applying the classifiers' verdicts to a batch of pending posts in bulk (called by the
pipeline inside its transaction)."""

from __future__ import annotations

from django.utils import timezone

from microblog.posts.models import ModerationState, Post

from .. import fastinsert
from ..models import OPEN_STATUSES, AuditEntry, CaseStatus, ModerationCase, Outcome, Strike, Verdict
from .accounts import apply_strike_rules, strike_counts
from .cases import base_priority, tell_reporters
from .verdicts import removal_message, verdict_latency, withdraw_many

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
            tell_reporters(case, "we removed it")
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
             verdict_latency(post, now), written)
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
            apply_strike_rules(
                removed_posts[-1].author,
                cases[removed_posts[-1].pk],
                new=len(removed_posts),
                count=totals.get(author_id, 0),
            )
    return counts
