"""Export human moderation decisions as labelled data for retraining.

    manage.py export_decisions --out decisions.csv [--since 2026-01-01]

Columns ``id,text,label,source,decided_at,moderator``: approved posts are labelled
``ok``, removed ones with the case category (violence, hate, offensive, spam, other);
reversed appeals count as ``ok``. Only human decisions are exported.
"""

import csv
from datetime import datetime
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from moderation.models import AppealStatus, ModerationCase, Outcome


class Command(BaseCommand):
    help = "Write human moderation decisions on posts as a labelled CSV (id,text,label,...)."

    def add_arguments(self, parser):
        parser.add_argument("--out", required=True)
        parser.add_argument("--since", help="only decisions on or after this date (YYYY-MM-DD)")

    def handle(self, *args, out: str, since: str | None, **options):
        qs = (
            ModerationCase.objects.filter(
                post__isnull=False, decided_by__isnull=False, outcome__in=[Outcome.APPROVED, Outcome.REMOVED]
            )
            .select_related("post", "decided_by", "appeal")
            .order_by("decided_at")
        )
        if since:
            try:
                start = datetime.strptime(since, "%Y-%m-%d").replace(tzinfo=timezone.get_current_timezone())
            except ValueError:
                raise CommandError(f"--since must be a date like 2026-01-31, not {since!r}") from None
            qs = qs.filter(decided_at__gte=start)
        path = Path(out)
        n = 0
        try:
            with path.open("w", encoding="utf-8", newline="") as fh:
                writer = csv.writer(fh)
                writer.writerow(["id", "text", "label", "source", "decided_at", "moderator"])
                for case in qs.iterator():
                    label = "ok" if case.outcome == Outcome.APPROVED else (case.category or "other")
                    appeal = getattr(case, "appeal", None)
                    if appeal is not None and appeal.status == AppealStatus.REVERSED:
                        label = "ok"
                    writer.writerow(
                        [
                            f"holdfast:{case.post_id}",
                            case.post.text,
                            label,
                            "holdfast-moderation",
                            case.decided_at.isoformat(),
                            case.decided_by_label,
                        ]
                    )
                    n += 1
        except OSError as exc:
            raise CommandError(f"cannot write {path}: {exc.strerror}") from None
        self.stdout.write(f"{n} decisions → {path}")
