"""The second stage: re-deciding, off the first pass, posts the text model sent to humans.

After a first-stage batch commits, the posts that the trained text model *alone* held for
review (no rule, spam flag, failed classifier or limited account involved: see
``policy.Decision.deferrable``) are queued in batches on the ``moderation_deep`` queue
(``moderation.moderate_deep``). A worker on that queue scores them with
``moderation.ml.deep`` (MiniLM sentence embeddings + a small head, thresholds calibrated on
dev for the review band) and allows or removes them, or leaves them for humans.

Safe by construction:

- Only posts still ``held`` whose open case was opened by the classifiers, has no report,
  no claim and was not escalated are touched, under ``SELECT ... FOR UPDATE``; the
  expensive scoring runs before the transaction, eligibility is checked again inside it.
- Idempotent: a post that already has a ``deep`` score is skipped, so a re-delivered task
  changes nothing twice (and a post the second stage left for humans is not re-scored).
- Optional: without ``HOLDFAST_MODERATION_DEEP`` on and ``moderation/ml/artefacts/deep.npz``
  present, nothing is queued and the site runs exactly as before. Only the deep worker needs
  the ``deep`` extra (torch): the first stage queues without it, so web and first-stage
  workers stay small. A deep worker without the extra, a lost task or a failing second stage
  just leave the post for humans.
- Nothing to sweep: a post waiting for its second-stage score is already ``held`` with an open
  case in the human queue (``services.automated.apply_automated`` did that in the first stage's
  transaction), so a dead broker or deep worker costs a human decision, never a lost post.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from functools import cache

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from microblog.posts.models import ModerationState, Post
from moderation.ml import CATEGORIES
from moderation.ml import policy as ml_policy
from moderation.ml.normalise import normalise

from . import dispatch, fastinsert
from .models import AuditEntry, CaseStatus, ClassifierScore, ModerationCase, Outcome, Verdict
from .services.accounts import add_strike, limited_ids
from .services.verdicts import notify_removed, remove_post, verdict_latency

logger = logging.getLogger(__name__)

NAME = "deep"  # ClassifierScore.classifier of second-stage scores
FIRST_STAGE = "textmodel"


@cache
def _installed() -> bool:
    from moderation.ml import deep

    return deep.available() and deep.head_exists()


def switched_on() -> bool:
    """Is the second stage switched on, with its head shipped? Enough to queue posts: only the
    process that scores them (the ``moderation_deep`` worker) needs the ``deep`` extra."""
    from moderation.ml import deep

    return bool(getattr(settings, "HOLDFAST_MODERATION_DEEP", False)) and deep.head_exists()


def first_stage_thresholds():  # -> dict[str, Thresholds] | None
    """The text model's thresholds while the second stage is on (calibrated jointly with it:
    a wider review band, which this stage re-decides), or None: use the first stage's own.
    Both from the policy version in force (``policy_versions.active_thresholds``)."""
    from . import policy_versions

    return policy_versions.active_thresholds().first_stage_with_second if switched_on() else None


def enabled() -> bool:
    """Can this process score posts: switched on and the ``deep`` extra installed here?"""
    return switched_on() and _installed()


def after_first_stage(posts: Sequence[Post], decisions: Sequence) -> list[int]:
    """Called inside the first stage's transaction: queue its deferrable reviews once it commits."""
    if not switched_on():
        return []
    ids = [p.pk for p, d in zip(posts, decisions, strict=True) if getattr(d, "deferrable", False)]
    if ids:
        transaction.on_commit(lambda: enqueue(ids))
    return ids


def enqueue(post_ids: Iterable[int]) -> None:
    """Queue posts for the second stage in batches; if the broker is down they stay with humans."""
    ids = [int(i) for i in post_ids]
    size = max(1, settings.HOLDFAST_MODERATION_DEEP_BATCH_SIZE)
    for start in range(0, len(ids), size):
        try:
            dispatch.queue_task(dispatch.MODERATE_DEEP, ids[start : start + size],
                                queue=settings.HOLDFAST_MODERATION_DEEP_QUEUE)
        except Exception as exc:  # broker down: the posts simply stay in the human queue
            logger.warning("could not queue %d posts for the second stage (left for humans): %s",
                           len(ids[start : start + size]), exc)


def _case_eligible(case: ModerationCase | None) -> bool:
    return (
        case is not None
        and case.automated
        and case.status == CaseStatus.OPEN
        and case.claimed_by_id is None
        and case.report_count == 0
        and all(str(r).startswith(f"{FIRST_STAGE}@") for r in case.reasons)
    )


def _candidates(ids: list[int]) -> list[Post]:
    posts = Post.objects.filter(
        pk__in=ids, moderation_state=ModerationState.HELD, deleted_at__isnull=True
    ).select_related("author").order_by("pk")
    done = set(
        ClassifierScore.objects.filter(post_id__in=ids, classifier=NAME).values_list("post_id", flat=True)
    )
    return [p for p in posts if p.pk not in done]


def decide_held(post_ids: Iterable[int]) -> dict[str, int]:
    """The ``moderation.moderate_deep`` task's work. Returns counts per action taken."""
    counts = {"allow": 0, "review": 0, "remove": 0}
    ids = sorted({int(i) for i in post_ids})
    if not ids or not switched_on():
        return counts
    if not _installed():
        # A worker on the deep queue without the extra: say so, the posts stay with humans.
        logger.warning("second stage switched on but the 'deep' extra is not installed in this worker: "
                       "%d posts left for humans", len(ids))
        return counts
    from moderation.ml import deep

    head = deep.load_head()
    from . import policy_versions

    active = policy_versions.active_thresholds()  # once per task
    # version 0 is what the loaded head ships; an applied version brings its own
    applied = active.second_stage if active.version != policy_versions.SHIPPED else None
    thresholds = applied or head.thresholds
    label = head.label[:150]
    posts = _candidates(ids)
    if not posts:
        return counts
    texts = {p.pk: p.text for p in posts}
    q, decisions = deep.decide([normalise(p.text) for p in posts],
                               threads=settings.HOLDFAST_MODERATION_DEEP_THREADS or None,
                               thresholds=thresholds)
    scores = {
        p.pk: dict(zip(CATEGORIES, map(float, row), strict=True)) for p, row in zip(posts, q, strict=True)
    }
    decided = {p.pk: d for p, d in zip(posts, decisions, strict=True)}

    with transaction.atomic():
        qs = Post.objects.filter(
            pk__in=list(scores), moderation_state=ModerationState.HELD, deleted_at__isnull=True
        )
        if connection.features.has_select_for_update_skip_locked:
            qs = qs.select_for_update(skip_locked=True, of=("self",))
        locked = [p for p in qs.select_related("author").order_by("pk") if p.text == texts[p.pk]]
        if not locked:
            return counts
        lids = [p.pk for p in locked]
        already = set(
            ClassifierScore.objects.filter(post_id__in=lids, classifier=NAME)
            .values_list("post_id", flat=True)
        )
        cases = {
            c.post_id: c
            for c in ModerationCase.objects.select_for_update().filter(
                post_id__in=lids, status=CaseStatus.OPEN
            )
        }
        limited = limited_ids({p.author_id for p in locked})
        todo = [
            p for p in locked
            if p.pk not in already and p.author_id not in limited and _case_eligible(cases.get(p.pk))
        ]
        if not todo:
            return counts
        now = timezone.now()
        detail = {"model": head.meta.get("model", ""), "stage": 2}
        fastinsert.insert_rows(
            ClassifierScore,
            ("post_id", "classifier", "version", "category", "score", "detail", "created_at"),
            [(p.pk, NAME, head.version[:100], cat, s, detail, now)
             for p in todo for cat, s in scores[p.pk].items()],
        )
        verdicts, audits = [], []
        allowed = []
        for post in todo:
            d = decided[post.pk]
            case = cases[post.pk]
            reason = f"{label}: {d.reason}"
            counts[d.action] += 1
            audits.append(AuditEntry(
                actor=None, actor_label=label, action=f"auto_{d.action}", target_type="post",
                target_id=post.pk, reason=reason[:2000],
                detail={"category": d.category or "", "score": round(d.score, 4), "case": case.pk,
                        "stage": 2},
            ))
            if d.action == ml_policy.REVIEW:
                case.reasons = [*case.reasons, f"{label}: still unsure ({d.reason})"]
                case.save(update_fields=["reasons"])
                continue
            case.status, case.decided_at = CaseStatus.RESOLVED, now
            case.decided_by_label, case.decision_reason = label, reason[:2000]
            case.claimed_by, case.claimed_at = None, None
            verdicts.append(Verdict(
                post=post, action=d.action, category=d.category or "", reason=reason[:2000], automated=True,
                classifiers=label[:300], latency=verdict_latency(post, now),
            ))
            if d.action == ml_policy.ALLOW:
                case.outcome = Outcome.APPROVED
                case.save(update_fields=["status", "decided_at", "decided_by_label", "decision_reason",
                                         "claimed_by", "claimed_at", "outcome"])
                allowed.append(post.pk)
            else:
                case.outcome = Outcome.REMOVED
                case.category = d.category or case.category
                case.save(update_fields=["status", "decided_at", "decided_by_label", "decision_reason",
                                         "claimed_by", "claimed_at", "outcome", "category"])
                remove_post(post)
                notify_removed(post, case, reason)
                add_strike(post.author, case, reason, actor=None, actor_label=label)
        if allowed:
            Post.objects.filter(pk__in=allowed, moderation_state=ModerationState.HELD).update(
                moderation_state=ModerationState.ALLOWED
            )
        fastinsert.insert(Verdict, verdicts)
        fastinsert.insert(AuditEntry, audits)
    return counts
