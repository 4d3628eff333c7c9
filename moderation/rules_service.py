"""Creating, editing and previewing rules (moderators only)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from microblog.posts.models import Post
from moderation.ml.normalise import normalise

from .classifiers.base import Item
from .classifiers.rules import compile_rule, match_rules, validate_pattern
from .models import Action, Category, Rule, RuleKind
from .services.audit import audit
from .services.moderators import require_moderator


def _clean(kind: str, pattern: str, category: str, action: str) -> dict:
    errors = {}
    if kind not in RuleKind.values:
        errors["kind"] = f"Choose one of: {', '.join(RuleKind.values)}."
    if category not in Category.values:
        errors["category"] = f"Choose one of: {', '.join(Category.values)}."
    if action not in (Action.REVIEW, Action.REMOVE):
        errors["action"] = "Choose review or remove."
    if errors:
        raise ValidationError(errors)
    return {"kind": kind, "pattern": validate_pattern(kind, pattern), "category": category, "action": action}


@transaction.atomic
def create_rule(
    moderator,
    *,
    kind: str,
    pattern: str,
    category: str,
    action: str = "review",
    note: str = "",
    enabled: bool = True,
) -> Rule:
    require_moderator(moderator)
    data = _clean(kind, pattern, category, action)
    rule = Rule.objects.create(**data, note=(note or "")[:200], enabled=enabled, created_by=moderator)
    audit(moderator, "rule_create", "rule", rule.pk, "", {**data, "enabled": enabled})
    return rule


@transaction.atomic
def update_rule(
    moderator,
    rule: Rule,
    *,
    kind: str,
    pattern: str,
    category: str,
    action: str,
    note: str = "",
    enabled: bool = True,
) -> Rule:
    require_moderator(moderator)
    data = _clean(kind, pattern, category, action)
    before = {
        "kind": rule.kind,
        "pattern": rule.pattern,
        "category": rule.category,
        "action": rule.action,
        "enabled": rule.enabled,
    }
    for key, value in data.items():
        setattr(rule, key, value)
    rule.note, rule.enabled = (note or "")[:200], enabled
    rule.save()
    audit(
        moderator,
        "rule_update",
        "rule",
        rule.pk,
        "",
        {"before": before, "after": {**data, "enabled": enabled}},
    )
    return rule


@transaction.atomic
def delete_rule(moderator, rule: Rule) -> None:
    require_moderator(moderator)
    audit(moderator, "rule_delete", "rule", rule.pk, "", {"kind": rule.kind, "pattern": rule.pattern})
    rule.delete()


def preview(
    moderator, *, kind: str, pattern: str, category: str = "other", action: str = "review", limit: int = 500
) -> dict:
    """Test an unsaved rule against recent posts: which would it have matched?"""
    require_moderator(moderator)
    data = _clean(kind, pattern, category, action)
    compiled = compile_rule(Rule(pk=0, **data))
    posts = list(Post.objects.all().exclude(text="").select_related("author").order_by("-id")[:limit])
    matches = []
    for post in posts:
        result = match_rules([compiled], Item(post.pk, post.text, normalise(post.text)))
        if result.actions:
            matches.append(post)
    return {"checked": len(posts), "matches": matches}
