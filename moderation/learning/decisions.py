"""Moderators' decisions as labelled data: one final human label per post.

- A moderator's approval labels the post ``ok``; a removal labels it with the case's category.
- An appeal decision is the last word on its case: reversed means ``ok``, upheld confirms the
  removal. This also covers automatic removals that a human then judged on appeal.
- Automatic decisions nobody looked at are not labels, nor is a removal whose appeal is still
  pending (it is not final yet).
- Conflicts: a post decided more than once (approved, later reported and removed; removed, then
  reversed on appeal) takes its latest human decision, so a reversal wins over the removal.
- A post edited after the decision no longer shows the text that was judged: left out.

``manage.py export_decisions`` writes these rows; ``propose_policy`` reads them back from the
database or from such a file (:func:`read_decisions_file`, which refuses unknown ids,
duplicates, contradictions and unknown labels with a one-line :class:`DecisionsError`).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from django.db.models import Q

from moderation.models import AppealStatus, Category, ModerationCase, Outcome

__all__ = ["LABELS", "DecisionsError", "LabelledDecision", "export_id", "human_decisions",
           "read_decisions_file"]

# ``ok`` plus every case category; the text model learns only ok / offensive / hate / violence.
LABELS = ("ok", *Category.values)
ID_PREFIX = "holdfast:"
_ID_RE = re.compile(r"^(?:holdfast:)?(\d{1,19})$")


class DecisionsError(ValueError):
    """Unusable decisions; the message is a single user-facing line."""


@dataclass(frozen=True)
class LabelledDecision:
    post_id: int
    text: str
    label: str
    origin: str  # "moderator", "appeal reversed" or "appeal upheld"
    decided_at: datetime
    decided_by: str


def export_id(post_id: int) -> str:
    return f"{ID_PREFIX}{post_id}"


def human_decisions(since: datetime | None = None) -> list[LabelledDecision]:
    """The final human label of every post a human decided (on or after ``since``), oldest first."""
    qs = (
        ModerationCase.objects.filter(post__isnull=False, outcome__in=[Outcome.APPROVED, Outcome.REMOVED])
        .filter(Q(decided_by__isnull=False)
                | Q(appeal__status__in=[AppealStatus.REVERSED, AppealStatus.UPHELD]))
        .select_related("post", "appeal", "appeal__decided_by")
        .order_by("decided_at", "pk")
    )
    if since is not None:
        qs = qs.filter(Q(decided_at__gte=since) | Q(appeal__decided_at__gte=since))
    latest: dict[int, LabelledDecision] = {}
    for case in qs.iterator(chunk_size=1000):
        decision = _final_label(case)
        if decision is None or (since is not None and decision.decided_at < since):
            continue
        post = case.post
        if post.edited_at is not None and case.decided_at is not None and post.edited_at > case.decided_at:
            continue
        seen = latest.get(decision.post_id)
        if seen is None or decision.decided_at >= seen.decided_at:
            latest[decision.post_id] = decision
    return sorted(latest.values(), key=lambda d: (d.decided_at, d.post_id))


def _final_label(case: ModerationCase) -> LabelledDecision | None:
    removed_as = case.category or Category.OTHER
    appeal = getattr(case, "appeal", None)
    judged = (AppealStatus.REVERSED, AppealStatus.UPHELD)
    if appeal is not None and appeal.status in judged and appeal.decided_at:
        reversed_ = appeal.status == AppealStatus.REVERSED
        return LabelledDecision(
            case.post_id, case.post.text, "ok" if reversed_ else removed_as,
            "appeal reversed" if reversed_ else "appeal upheld", appeal.decided_at,
            appeal.decided_by.username if appeal.decided_by else "",
        )
    if appeal is not None and appeal.status == AppealStatus.PENDING:
        return None  # the removal may yet be reversed: not a final decision
    if case.decided_by_id is None or case.decided_at is None:
        return None  # an automatic decision nobody looked at
    return LabelledDecision(
        case.post_id, case.post.text, "ok" if case.outcome == Outcome.APPROVED else removed_as,
        "moderator", case.decided_at, case.decided_by_label,
    )


def read_decisions_file(path: Path) -> dict[int, str]:
    """``{post id: label}`` from an ``export_decisions`` CSV (columns ``id`` and ``label`` at least;
    the text is taken from the database, as the stored scores are). Raises DecisionsError."""
    path = Path(path)
    if not path.is_file():
        raise DecisionsError(f"decisions file not found: {path}")
    labels: dict[int, tuple[str, int]] = {}
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in ("id", "label") if c not in (reader.fieldnames or [])]
            if missing:
                raise DecisionsError(f"{path}: missing column(s) {', '.join(missing)} (need a header row "
                                     "with id,label as export_decisions writes)")
            for line, row in enumerate(reader, start=2):
                raw_id, label = (row.get("id") or "").strip(), (row.get("label") or "").strip()
                match = _ID_RE.match(raw_id)
                if match is None:
                    raise DecisionsError(
                        f"{path}:{line}: {raw_id!r} is not a post id (expected holdfast:<number>)")
                if label not in LABELS:
                    raise DecisionsError(
                        f"{path}:{line}: unknown label {label!r} (expected one of {', '.join(LABELS)})")
                post_id = int(match.group(1))
                if post_id in labels:
                    first, first_line = labels[post_id]
                    if first == label:
                        raise DecisionsError(f"{path}:{line}: duplicate id {export_id(post_id)} (also on "
                                             f"line {first_line}): give each post one final label")
                    raise DecisionsError(f"{path}:{line}: contradictory labels for {export_id(post_id)}: "
                                         f"{first!r} on line {first_line}, {label!r} here")
                labels[post_id] = (label, line)
    except UnicodeDecodeError as exc:
        raise DecisionsError(f"{path}: not UTF-8 ({exc.reason})") from None
    except csv.Error as exc:
        raise DecisionsError(f"{path}: malformed CSV ({exc})") from None
    if not labels:
        raise DecisionsError(f"{path}: no decisions in the file")
    return {post_id: label for post_id, (label, _) in labels.items()}


def check_known(post_ids: Iterable[int], known: Iterable[int], path: Path | str) -> None:
    """Every id must name a post of this site (its scores and text are read from here)."""
    unknown = sorted(set(post_ids) - set(known))
    if unknown:
        shown = ", ".join(export_id(i) for i in unknown[:3])
        more = f" and {len(unknown) - 3} more" if len(unknown) > 3 else ""
        raise DecisionsError(f"{path}: unknown post id(s) {shown}{more}: not posts of this site")
