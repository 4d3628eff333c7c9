"""Turn every classifier's output for a post into one action: allow, review or remove.

- The trained model's scores go through ``moderation.ml.policy.decide`` with the
  thresholds calibrated on the dev split (the band between them goes to humans).
- Rules impose their action directly (a matched "remove" rule removes).
- Other classifiers' scores go through their per-category thresholds.
- A classifier that failed sends the post to review; so does a limited account.
The most severe action wins; among equals, the most severe category.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from moderation.ml import policy as ml_policy

from .classifiers.base import Classifier, ClassifierUnavailable, Result

SEVERITY = {"remove": 2, "review": 1, "allow": 0}
CATEGORY_ORDER = ["violence", "hate", "spam", "offensive", "other", ""]


@dataclass
class Decision:
    action: str
    category: str = ""
    score: float = 0.0
    reasons: list[str] = field(default_factory=list)
    # Who asked for review or removal: classifier names, "error:<name>" for a failed one,
    # "limited" for a limited account. The second stage may only re-decide posts that the
    # trained text model alone sent to review (``deferrable``).
    flagged_by: set[str] = field(default_factory=set)

    @property
    def deferrable(self) -> bool:
        return self.action == "review" and self.flagged_by == {"textmodel"}

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons) if self.reasons else "no classifier flagged this post"


def _better(a: tuple[str, str], b: tuple[str, str]) -> bool:
    """Is (action, category) a more severe than b?"""
    if SEVERITY[a[0]] != SEVERITY[b[0]]:
        return SEVERITY[a[0]] > SEVERITY[b[0]]
    return CATEGORY_ORDER.index(a[1] if a[1] in CATEGORY_ORDER else "other") < CATEGORY_ORDER.index(
        b[1] if b[1] in CATEGORY_ORDER else "other"
    )


def classifier_decision(
    classifier: Classifier, result: Result, memo: dict[int, dict] | None = None
) -> list[tuple[str, str, float, str]]:
    """(action, category, score, reason) for each non-allow finding of one classifier.

    ``memo`` (keyed by ``id(classifier)``) keeps each classifier's thresholds for a batch:
    reading them builds dicts and, for the text model, looks for the second stage's file.
    """
    out = []
    if result.actions:
        for cat, action in result.actions.items():
            patterns = ", ".join(repr(d["pattern"]) for d in result.detail.get(cat, []))
            out.append(
                (action, cat, result.scores.get(cat, 1.0), f"{classifier.name}: {cat} rule {patterns}")
            )
        return out
    if memo is None:
        thresholds = classifier.thresholds()
    else:
        thresholds = memo.get(id(classifier))
        if thresholds is None:
            thresholds = memo[id(classifier)] = classifier.thresholds()
    if set(thresholds) >= set(ml_policy.CATEGORIES) and set(result.scores) <= set(ml_policy.CATEGORIES):
        d = ml_policy.decide(result.scores, thresholds)
        if d.action != ml_policy.ALLOW:
            out.append((d.action, d.category or "", d.score, f"{classifier.label}: {d.reason}"))
        return out
    for cat, score in result.scores.items():
        t = thresholds.get(cat)
        if t is None:
            continue
        action = "remove" if score >= t.remove_at else "review" if score >= t.review_at else "allow"
        if action != "allow":
            why = "; ".join(result.detail.get(cat, [])) if isinstance(result.detail.get(cat), list) else ""
            out.append(
                (action, cat, score, f"{classifier.label}: {cat} {score:.2f}" + (f" ({why})" if why else ""))
            )
    return out


def decide(
    outputs: list[tuple[Classifier, Result | ClassifierUnavailable]],
    *,
    limited: bool = False,
    thresholds_memo: dict[int, dict] | None = None,
) -> Decision:
    """One action for a post. Pass the same empty dict as ``thresholds_memo`` for every post
    of a batch to read each classifier's thresholds once per batch instead of once per post."""
    best = Decision("allow")
    findings: list[tuple[str, str, float, str, str]] = []
    for classifier, result in outputs:
        if isinstance(result, Exception):
            findings.append(
                ("review", "", 0.0, f"{classifier.name} unavailable ({result}): sent to a human",
                 f"error:{classifier.name}")
            )
            continue
        found = classifier_decision(classifier, result, thresholds_memo)
        findings.extend((*f, classifier.name) for f in found)
    if limited:
        findings.append(("review", "", 0.0, "account is limited: every post is reviewed", "limited"))
    for action, cat, score, why, source in findings:
        best.reasons.append(why)
        best.flagged_by.add(source)
        if _better((action, cat), (best.action, best.category)):
            best.action, best.category, best.score = action, cat, score
    return best
