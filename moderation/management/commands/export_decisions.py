"""Export human moderation decisions as labelled data for retraining.

    manage.py export_decisions --out decisions.csv [--since 2026-01-01]

Columns ``id,text,label,source,decided_at,moderator``: one row per post with its final human
label (``moderation.learning.decisions.human_decisions``): approved posts are ``ok``, removed
ones carry the case category (violence, hate, offensive, spam, other), a removal reversed on
appeal is ``ok`` and one upheld on appeal keeps its category (automatic removals included).
Only human decisions are exported; a post decided more than once has its latest decision.
"""

import csv
from datetime import datetime
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from moderation.learning.decisions import export_id, human_decisions


def parse_since(since: str | None) -> datetime | None:
    if not since:
        return None
    try:
        return datetime.strptime(since, "%Y-%m-%d").replace(tzinfo=timezone.get_current_timezone())
    except ValueError:
        raise CommandError(f"--since must be a date like 2026-01-31, not {since!r}") from None


class Command(BaseCommand):
    help = "Write human moderation decisions on posts as a labelled CSV (id,text,label,...)."

    def add_arguments(self, parser):
        parser.add_argument("--out", required=True)
        parser.add_argument("--since", help="only decisions on or after this date (YYYY-MM-DD)")

    def handle(self, *args, out: str, since: str | None, **options):
        start = parse_since(since)
        path = Path(out)
        decisions = human_decisions(start)
        try:
            with path.open("w", encoding="utf-8", newline="") as fh:
                writer = csv.writer(fh)
                writer.writerow(["id", "text", "label", "source", "decided_at", "moderator"])
                for d in decisions:
                    writer.writerow([export_id(d.post_id), d.text, d.label, "holdfast-moderation",
                                     d.decided_at.isoformat(), d.decided_by])
        except OSError as exc:
            raise CommandError(f"cannot write {path}: {exc.strerror}") from None
        self.stdout.write(f"{len(decisions)} decisions → {path}")
