"""Members reporting posts and accounts: reports on the same item merge into one case."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.http import Http404

from ..models import OPEN_STATUSES, Category, ModerationCase, Report
from .audit import audit
from .cases import base_priority, open_case_for

User = get_user_model()

REPORT_WEIGHT = 15.0


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
