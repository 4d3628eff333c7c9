"""Evaluation of label predictions and policy decisions (pure numpy, no sklearn).

``evaluate`` returns an :class:`EvaluationReport` (a dataclass, ``to_dict()`` for
JSON) and ``format_report`` renders it as a plain-text table for terminals/logs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from . import LABELS
from .policy import policy_metrics

__all__ = ["ClassScores", "EvaluationReport", "evaluate", "format_report", "policy_by_source", "prf"]


@dataclass
class ClassScores:
    precision: float
    recall: float
    f1: float
    support: int


@dataclass
class EvaluationReport:
    n: int
    per_class: dict[str, ClassScores]
    macro_f1: float
    flag: ClassScores  # binary "should be flagged" (label != ok)
    accuracy: float
    per_source: dict[str, dict[str, float]] = field(default_factory=dict)
    policy: dict[str, float] | None = None  # see moderation.ml.policy.policy_metrics

    def to_dict(self) -> dict:
        return asdict(self)


def prf(y_true: np.ndarray, y_pred: np.ndarray) -> ClassScores:
    """Binary precision/recall/F1 on boolean arrays (0.0 where undefined)."""
    tp = int((y_true & y_pred).sum())
    fp = int((~y_true & y_pred).sum())
    fn = int((y_true & ~y_pred).sum())
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return ClassScores(p, r, f, int(y_true.sum()))


def evaluate(
    labels: Sequence[str],
    predicted: Sequence[str],
    sources: Sequence[str] | None = None,
    actions: np.ndarray | None = None,
    removal_categories: np.ndarray | None = None,
) -> EvaluationReport:
    """Per-class P/R/F1 over the four labels, macro-F1, flag F1, and optionally the
    policy figures (``actions``: codes 0 allow / 1 review / 2 remove) and a per-source
    breakdown (flag F1, macro-F1 over the labels present, share auto-decided, error
    among auto-decided)."""
    y = np.asarray(labels, dtype=object)
    yp = np.asarray(predicted, dtype=object)
    if y.shape != yp.shape:
        raise ValueError("labels and predicted differ in length")
    per_class = {c: prf(y == c, yp == c) for c in LABELS}
    report = EvaluationReport(
        n=len(y),
        per_class=per_class,
        macro_f1=float(np.mean([s.f1 for s in per_class.values()])),
        flag=prf(y != "ok", yp != "ok"),
        accuracy=float((y == yp).mean()) if len(y) else math.nan,
        policy=policy_metrics(actions, y, removal_categories) if actions is not None else None,
    )
    if sources is not None:
        src = np.asarray(sources, dtype=object)
        for s in sorted(set(src.tolist())):
            mask = src == s
            present = [c for c in LABELS if (y[mask] == c).any()]
            row: dict[str, float] = {
                "n": int(mask.sum()),
                "flag_f1": prf(y[mask] != "ok", yp[mask] != "ok").f1,
                "macro_f1": float(np.mean([prf(y[mask] == c, yp[mask] == c).f1 for c in present])),
            }
            if actions is not None:
                pm = policy_metrics(actions[mask], y[mask])
                row.update(share_auto=pm["share_auto"], auto_error=pm["auto_error"],
                           violence_recall=pm["violence_recall"])
            report.per_source[s] = row
    return report


def policy_by_source(
    actions: np.ndarray, labels: Sequence[str], sources: Sequence[str],
    removal_categories: np.ndarray | None = None,
) -> dict[str, dict[str, float]]:
    """``policy_metrics`` for each source's posts, plus ``all`` for every post."""
    y = np.asarray(labels, dtype=object)
    src = np.asarray(sources, dtype=object)
    cats = None if removal_categories is None else np.asarray(removal_categories)
    out = {"all": policy_metrics(actions, y, cats)}
    for s in sorted(set(src.tolist())):
        mask = src == s
        out[s] = policy_metrics(actions[mask], y[mask], None if cats is None else cats[mask])
    return out


def _f(x: float) -> str:
    return "   -" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.3f}"


def format_report(report: EvaluationReport, title: str = "evaluation") -> str:
    lines = [f"== {title} (n={report.n}) ==", f"{'class':<10} {'P':>6} {'R':>6} {'F1':>6} {'n':>6}"]
    for c, s in report.per_class.items():
        lines.append(f"{c:<10} {_f(s.precision):>6} {_f(s.recall):>6} {_f(s.f1):>6} {s.support:>6}")
    f = report.flag
    lines.append(f"{'flag':<10} {_f(f.precision):>6} {_f(f.recall):>6} {_f(f.f1):>6} {f.support:>6}")
    lines.append(f"macro-F1 {report.macro_f1:.3f}   accuracy {report.accuracy:.3f}")
    if report.policy:
        p = report.policy
        lines.append(
            "policy: auto-decided {} (allow {} / remove {} / review {}), error among auto {}".format(
                _f(p["share_auto"]), _f(p["share_allow"]), _f(p["share_remove"]),
                _f(p["share_review"]), _f(p["auto_error"])))
        lines.append(
            "        violence recall e2e {} | among auto-decided {} (n={}) | removal precision {}".format(
                _f(p["violence_recall"]), _f(p["violence_auto_recall"]),
                int(p["violence_auto_decided"]), _f(p["removal_precision"])))
    if report.per_source:
        lines.append(f"{'source':<10} {'n':>6} {'flagF1':>7} {'macroF1':>8} {'auto':>6} {'autoErr':>8}")
        for s, r in report.per_source.items():
            lines.append(f"{s:<10} {int(r['n']):>6} {_f(r['flag_f1']):>7} {_f(r['macro_f1']):>8} "
                         f"{_f(r.get('share_auto', math.nan)):>6} {_f(r.get('auto_error', math.nan)):>8}")
    return "\n".join(lines)
