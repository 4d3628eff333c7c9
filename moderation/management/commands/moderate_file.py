"""Dry run: classify a CSV of posts with the enabled classifiers and the policy, without
touching the database (it works with the database unreachable).

    manage.py moderate_file --in posts.csv --out verdicts.csv

Input columns ``id,text``; output ``id``, one score column per category, and ``action``
(plus ``category`` and ``reason``). The moderators' rules are read once from the database
when it answers (nothing is written); when it does not, they are skipped and that is said on
stderr. The spam heuristics judge an account's recent posting, which a CSV of texts does not
have: they are skipped.
"""

import csv
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from moderation import policy, policy_versions
from moderation.classifiers.base import Classifier, Item, enabled_classifiers
from moderation.classifiers.rules import RuleClassifier
from moderation.ml.normalise import normalise
from moderation.pipeline import classify

CHUNK = 1000


class Command(BaseCommand):
    help = "Classify posts from a CSV (id,text) and write the scores and the action the policy would take."
    requires_system_checks: list = []
    requires_migrations_checks = False

    def add_arguments(self, parser):
        parser.add_argument("--in", dest="src", required=True, help="CSV with columns id,text")
        parser.add_argument("--out", dest="dst", required=True, help="where to write the verdicts CSV")

    def handle(self, *args, src: str, dst: str, **options):
        src_path, dst_path = Path(src), Path(dst)
        if not src_path.is_file():
            raise CommandError(f"input file not found: {src_path}")
        counts = {"allow": 0, "review": 0, "remove": 0}
        try:
            with src_path.open(encoding="utf-8", newline="") as fin:
                reader = csv.DictReader(fin)
                missing = [c for c in ("id", "text") if c not in (reader.fieldnames or [])]
                if missing:
                    raise CommandError(
                        f"{src_path}: missing column(s) {', '.join(missing)} (need a header row with id,text)"
                    )
                classifiers, skipped = self._offline_classifiers()
                if skipped:
                    self.stderr.write(f"skipped: {'; '.join(skipped)}")
                # The policy version in force, read once (the shipped one if the database is away).
                in_force = policy_versions.active_thresholds()
                self.stderr.write(f"policy version {in_force.version} in force"
                                  + (" (the shipped thresholds)" if in_force.version == 0 else ""))
                categories: list[str] = []
                for c in classifiers:
                    categories += [cat for cat in c.categories if cat not in categories]
                dst_path.parent.mkdir(parents=True, exist_ok=True)
                with dst_path.open("w", encoding="utf-8", newline="") as fout, \
                        policy_versions.pinned(in_force):
                    writer = csv.writer(fout)
                    writer.writerow(["id", *categories, "action", "category", "reason"])
                    chunk: list[dict] = []
                    for row in reader:
                        chunk.append(row)
                        if len(chunk) >= CHUNK:
                            self._write(writer, chunk, classifiers, categories, counts)
                            chunk = []
                    if chunk:
                        self._write(writer, chunk, classifiers, categories, counts)
        except UnicodeDecodeError as exc:
            raise CommandError(f"{src_path}: not UTF-8 ({exc.reason})") from None
        except csv.Error as exc:
            raise CommandError(f"{src_path}: malformed CSV ({exc})") from None
        except OSError as exc:
            raise CommandError(f"cannot write {dst_path}: {exc.strerror}") from None
        total = sum(counts.values())
        self.stdout.write(
            f"{total} posts: {counts['allow']} allow, {counts['review']} review, {counts['remove']} remove "
            f"→ {dst_path}"
        )

    def _offline_classifiers(self) -> tuple[list[Classifier], list[str]]:
        """The enabled classifiers that can judge a bare text without writing anything."""
        usable, skipped = [], []
        for classifier in enabled_classifiers():
            if isinstance(classifier, RuleClassifier):
                try:
                    rules = classifier.load()
                except DatabaseError as exc:
                    why = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                    skipped.append(f"rules (the database is unreachable: {why})")
                    continue
                usable.append(RuleClassifier(rules=rules))
            elif classifier.needs_database:
                skipped.append(f"{classifier.name} (it needs the authors' posting history)")
            else:
                usable.append(classifier)
        return usable, skipped

    def _write(self, writer, rows, classifiers, categories, counts) -> None:
        items = [
            Item(post_id=None, text=r.get("text") or "", normalised=normalise(r.get("text") or ""))
            for r in rows
        ]
        outputs = classify(items, classifiers)
        for row, out in zip(rows, outputs, strict=True):
            scores: dict[str, float] = {}
            for _, result in out:
                if not isinstance(result, Exception):
                    for cat, s in result.scores.items():
                        scores[cat] = max(scores.get(cat, 0.0), s)
            decision = policy.decide(out)
            counts[decision.action] += 1
            writer.writerow(
                [
                    row.get("id", ""),
                    *(f"{scores.get(c, 0.0):.4f}" for c in categories),
                    decision.action,
                    decision.category,
                    decision.reason,
                ]
            )


if __name__ == "__main__":  # pragma: no cover
    sys.exit("run through manage.py")
