"""Dry run: decide a CSV of posts exactly as a default production deployment would, without
touching the database (it works with the database unreachable).

    manage.py moderate_file --in posts.csv --out verdicts.csv [--stages first,second]

The first stage (every enabled classifier and the policy), then, where the ``deep`` extra and
the second stage's files are installed, the second stage for the posts the text model alone
held, as the ``moderation_deep`` worker does: the first stage then uses the thresholds it uses
while the second stage is on. ``--stages first`` measures the first stage alone. Which stages
ran, with their versions, is printed first.

Input columns ``id,text``; output ``id``, one score column per category, the second stage's
scores (``second_<category>``, empty where it did not run), ``stage`` (which stage decided),
``action``, ``category`` and ``reason``. The moderators' rules are read once from the database
when it answers (nothing is written); when it does not, they are skipped and that is said on
stderr. The spam heuristics judge an account's recent posting, which a CSV of texts does not
have: they are skipped.
"""

import csv
import sys
from pathlib import Path

import numpy as np
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from moderation import policy, policy_versions
from moderation.classifiers.base import Classifier, Item, enabled_classifiers
from moderation.classifiers.rules import RuleClassifier
from moderation.classifiers.textmodel import TextModelClassifier
from moderation.ml import CATEGORIES
from moderation.ml import deep as deep_stage
from moderation.ml.normalise import normalise
from moderation.pipeline import classify

CHUNK = 1000
STAGES = ("first", "second")


def _stages(value: str | None) -> tuple[str, ...]:
    """The stages asked for; by default what a production deployment runs."""
    if value is None:
        return STAGES if deep_stage.available() and deep_stage.head_exists() else ("first",)
    chosen = tuple(dict.fromkeys(v.strip() for v in value.split(",") if v.strip()))
    unknown = [v for v in chosen if v not in STAGES]
    if unknown or "first" not in chosen:
        raise CommandError(
            f"--stages takes 'first' or 'first,second' (got {value!r}): the second stage only "
            "re-decides what the first one held")
    if "second" in chosen and not deep_stage.head_exists():
        raise CommandError("--stages second: the second stage's files (deep.npz, finetuned.safetensors) "
                           "are not in moderation/ml/artefacts")
    if "second" in chosen and not deep_stage.available():
        raise CommandError("--stages second needs the 'deep' extra: pip install -e '.[deep]'")
    return chosen


class Command(BaseCommand):
    help = "Classify posts from a CSV (id,text) and write the scores and the action the policy would take."
    requires_system_checks: list = []
    requires_migrations_checks = False

    def add_arguments(self, parser):
        parser.add_argument("--in", dest="src", required=True, help="CSV with columns id,text")
        parser.add_argument("--out", dest="dst", required=True, help="where to write the verdicts CSV")
        parser.add_argument(
            "--stages", default=None,
            help="'first' or 'first,second' (default: what production runs: both where the 'deep' "
                 "extra is installed, else the first)",
        )

    def handle(self, *args, src: str, dst: str, stages: str | None = None, **options):
        src_path, dst_path = Path(src), Path(dst)
        if not src_path.is_file():
            raise CommandError(f"input file not found: {src_path}")
        self.second = "second" in _stages(stages)
        counts = {"allow": 0, "review": 0, "remove": 0}
        by_stage = {"first": 0, "second": 0}
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
                self.stdout.write(self._describe(classifiers))
                categories: list[str] = []
                for c in classifiers:
                    categories += [cat for cat in c.categories if cat not in categories]
                dst_path.parent.mkdir(parents=True, exist_ok=True)
                with dst_path.open("w", encoding="utf-8", newline="") as fout, \
                        policy_versions.pinned(in_force):
                    writer = csv.writer(fout)
                    writer.writerow(["id", *categories, *(f"second_{c}" for c in CATEGORIES),
                                     "stage", "action", "category", "reason"])
                    chunk: list[dict] = []
                    for row in reader:
                        chunk.append(row)
                        if len(chunk) >= CHUNK:
                            self._write(writer, chunk, classifiers, categories, counts, by_stage)
                            chunk = []
                    if chunk:
                        self._write(writer, chunk, classifiers, categories, counts, by_stage)
        except UnicodeDecodeError as exc:
            raise CommandError(f"{src_path}: not UTF-8 ({exc.reason})") from None
        except csv.Error as exc:
            raise CommandError(f"{src_path}: malformed CSV ({exc})") from None
        except OSError as exc:
            raise CommandError(f"cannot write {dst_path}: {exc.strerror}") from None
        total = sum(counts.values())
        second = f" (second stage decided {by_stage['second']})" if self.second else ""
        self.stdout.write(
            f"{total} posts: {counts['allow']} allow, {counts['review']} review, {counts['remove']} remove"
            f"{second} → {dst_path}"
        )

    def _describe(self, classifiers: list[Classifier]) -> str:
        first = ", ".join(f"{c.name}@{c.version}" for c in classifiers)
        lines = [f"stage 1 (first pass): {first or 'no classifier'}"]
        if self.second:
            head = deep_stage.load_head()
            lines.append(f"stage 2 (moderation_deep): {head.label}, model {head.meta.get('model', '?')}")
        else:
            lines.append("stage 2: off" + ("" if deep_stage.head_exists() and deep_stage.available()
                                           else " (the 'deep' extra or its files are not installed)"))
        return "\n".join(lines)

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
                if isinstance(classifier, TextModelClassifier):
                    classifier.with_second_stage = self.second
                usable.append(classifier)
        return usable, skipped

    def _write(self, writer, rows, classifiers, categories, counts, by_stage) -> None:
        items = [
            Item(post_id=None, text=r.get("text") or "", normalised=normalise(r.get("text") or ""))
            for r in rows
        ]
        outputs = classify(items, classifiers)
        memo: dict[int, dict] = {}
        decisions = [policy.decide(out, thresholds_memo=memo) for out in outputs]
        second: dict[int, tuple] = {}
        if self.second:
            # Exactly the worker's rule: only what the text model alone held goes on.
            held = [i for i, d in enumerate(decisions) if d.deferrable]
            if held:
                first_scores = np.array([[self._score(outputs[i], "textmodel", c) for c in CATEGORIES]
                                         for i in held])
                q, decided = deep_stage.decide([items[i].normalised for i in held], first_scores,
                                               thresholds=policy_versions.active_thresholds().second_stage)
                second = {i: (q[k], decided[k]) for k, i in enumerate(held)}
        label = deep_stage.load_head().label if second else ""
        for i, (row, out) in enumerate(zip(rows, outputs, strict=True)):
            scores: dict[str, float] = {}
            for _, result in out:
                if not isinstance(result, Exception):
                    for cat, s in result.scores.items():
                        scores[cat] = max(scores.get(cat, 0.0), s)
            action, category, reason, stage = (
                decisions[i].action, decisions[i].category, decisions[i].reason, "first")
            second_scores = ["" for _ in CATEGORIES]
            if i in second:
                q_row, d = second[i]
                second_scores = [f"{v:.4f}" for v in q_row]
                if d.action != "review":
                    action, category, stage = d.action, d.category or "", "second"
                reason = f"{label}: {d.reason}" + ("" if d.action != "review" else f" (after {reason})")
            counts[action] += 1
            by_stage[stage] += stage == "second"
            writer.writerow(
                [row.get("id", ""), *(f"{scores.get(c, 0.0):.4f}" for c in categories), *second_scores,
                 stage, action, category, reason]
            )

    @staticmethod
    def _score(out, name: str, category: str) -> float:
        for classifier, result in out:
            if classifier.name == name and not isinstance(result, Exception):
                return float(result.scores.get(category, 0.0))
        return 0.0


if __name__ == "__main__":  # pragma: no cover
    sys.exit("run through manage.py")
