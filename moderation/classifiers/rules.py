"""Moderator-edited rules: keywords, regular expressions and link domains per category.

Keywords and regexes match the *normalised* text (so "k i l l" and "kill" spelt with a
Cyrillic i match "kill"; keywords also ignore repeated letters); domains match the links
in the raw text, subdomains included.
Regexes run on the ``regex`` engine with a per-match timeout, and are checked against
pathological inputs when saved, so a rule can neither hang the worker nor be saved
if it backtracks catastrophically.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import regex
from django.conf import settings
from django.core.exceptions import ValidationError

from moderation.ml.normalise import normalise

from .base import Classifier, Item, Result

MAX_PATTERN = 300
_URL_RE = re.compile(r"(?:https?://|www\.)[^\s<>\"']+", re.IGNORECASE)
_RUN_RE = re.compile(r"(.)\1+", re.DOTALL)
_DOMAIN_RE = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
# Inputs that make backtracking regexes explode: long runs with a non-matching tail.
_PROBES = [
    "a" * 3000 + "!",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" * 50 + "\x00",
    "ab" * 1500 + "!",
    " " * 3000 + "x",
    "0" * 3000 + "x",
    "a-" * 1500 + "!",
]


def squeeze(text: str) -> str:
    """Collapse every run of a repeated character to one ("kiiill" and "kill" both give "kil")."""
    return _RUN_RE.sub(r"\1", text)


def link_domains(text: str) -> list[str]:
    out = []
    for url in _URL_RE.findall(text):
        host = urlsplit(url if "://" in url else "http://" + url).hostname or ""
        out.append(host.lower().rstrip("."))
    return out


def validate_pattern(kind: str, pattern: str) -> str:
    """Clean a rule's pattern or raise ValidationError with a clear message."""
    pattern = (pattern or "").strip()
    if not pattern:
        raise ValidationError({"pattern": "Enter a pattern."})
    if len(pattern) > MAX_PATTERN:
        raise ValidationError({"pattern": f"Patterns are at most {MAX_PATTERN} characters."})
    if kind == "keyword":
        if not normalise(pattern):
            raise ValidationError({"pattern": "This keyword is empty once normalised."})
    elif kind == "domain":
        pattern = (
            pattern.lower().removeprefix("http://").removeprefix("https://").strip("/").removeprefix("*.")
        )
        if not _DOMAIN_RE.match(pattern):
            raise ValidationError({"pattern": "Enter a domain name such as spam.example."})
    elif kind == "regex":
        try:
            compiled = regex.compile(pattern, regex.IGNORECASE | regex.V0)
        except regex.error as exc:
            where = f" at position {exc.pos}" if getattr(exc, "pos", None) is not None else ""
            raise ValidationError({"pattern": f"Invalid regular expression: {exc.msg}{where}."}) from None
        if compiled.search(""):
            raise ValidationError(
                {"pattern": "This regular expression matches empty text, so it matches every post."}
            )
        for probe in _PROBES:
            try:
                compiled.search(probe, timeout=0.1)
            except TimeoutError:
                raise ValidationError(
                    {
                        "pattern": "This regular expression is too slow on long text "
                        "(catastrophic backtracking): "
                        "avoid nested quantifiers such as (a+)+ and overlapping alternatives such as (a|a)*."
                    }
                ) from None
    else:
        raise ValidationError({"kind": "Choose keyword, regex or domain."})
    return pattern


@dataclass
class CompiledRule:
    id: int
    category: str
    kind: str
    pattern: str
    action: str
    matcher: object = None


def compile_rule(rule) -> CompiledRule:
    c = CompiledRule(rule.pk, rule.category, rule.kind, rule.pattern, rule.action)
    if rule.kind == "keyword":
        c.matcher = re.compile(r"(?<!\w)" + re.escape(squeeze(normalise(rule.pattern))) + r"(?!\w)")
    elif rule.kind == "regex":
        c.matcher = regex.compile(rule.pattern, regex.IGNORECASE | regex.V0)
    return c


def match_rules(rules: list[CompiledRule], item: Item, timeout: float | None = None) -> Result:
    """Evaluate rules against one item: score 1.0 for a matched remove rule, 0.5 for review."""
    timeout = settings.HOLDFAST_MODERATION_REGEX_TIMEOUT if timeout is None else timeout
    result = Result()
    domains = squeezed = None
    for rule in rules:
        hit = False
        if rule.kind == "keyword":
            if squeezed is None:
                squeezed = squeeze(item.normalised)
            hit = rule.matcher.search(squeezed) is not None
        elif rule.kind == "regex":
            try:
                hit = rule.matcher.search(item.normalised, timeout=timeout) is not None
            except TimeoutError:
                result.detail.setdefault("timeouts", []).append(rule.id)
                continue
        elif rule.kind == "domain":
            if domains is None:
                domains = link_domains(item.text)
            hit = any(d == rule.pattern or d.endswith("." + rule.pattern) for d in domains)
        if not hit:
            continue
        score = 1.0 if rule.action == "remove" else 0.5
        if score >= result.scores.get(rule.category, 0.0):
            result.scores[rule.category] = score
            result.actions[rule.category] = rule.action
        result.detail.setdefault(rule.category, []).append(
            {"rule": rule.id, "kind": rule.kind, "pattern": rule.pattern, "action": rule.action}
        )
    return result


class RuleClassifier(Classifier):
    name = "rules"
    version = "1"
    categories = ("violence", "hate", "offensive", "spam", "other")
    needs_database = True

    def __init__(self, rules: list[CompiledRule] | None = None, **options) -> None:
        super().__init__(**options)
        #: Rules given up front (moderate_file reads them once); None: read on every batch.
        self.fixed_rules = rules

    def load(self) -> list[CompiledRule]:
        if self.fixed_rules is not None:
            return self.fixed_rules
        from moderation.models import Rule

        return [compile_rule(r) for r in Rule.objects.filter(enabled=True).order_by("id")]

    def classify(self, items: list[Item]) -> list[Result]:
        rules = self.load()
        if not rules:
            return [Result() for _ in items]
        return [match_rules(rules, item) for item in items]
