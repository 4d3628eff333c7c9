"""Propose a recalibrated moderation policy from the community's decisions plus the shared dev data.

    manage.py propose_policy [--data ../shared/data/moderation] [--since YYYY-MM-DD]
        [--decisions decisions.csv] [--min-decisions 30] [--first-stage-only]

Wraps ``moderation.learning.proposal.propose``: scores dev with the shipped models, reads the
community's final human decisions (or an ``export_decisions`` file) with their stored scores,
recalibrates the thresholds, prints the figures before (the policy in force) and after, and
stores the proposal for an admin to apply at ``/moderation/policy/``. A proposal that would
lower violence recall on dev, or miss a safety target there, is stored as refused and the
command fails with that one line. Bad input: a one-line error, nothing stored.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from .export_decisions import parse_since

ROWS = (
    ("share_auto", "decided without a human", "{:.3f}"),
    ("violence_recall", "violence recall (not auto-allowed)", "{:.3f}"),
    ("removal_precision", "removal precision", "{:.3f}"),
    ("ok_removed", "ok posts removed", "{:.4f}"),
    ("auto_error", "error among auto-decided", "{:.4f}"),
    ("n", "posts", "{}"),
)


def figures_table(figures: dict) -> str:
    """Before/after figures as aligned text (also used by the beat task's log line)."""
    columns = (("dev", "before", "dev before"), ("dev", "after", "dev after"),
               ("dev", "after_crossfit", "after, 2-fold"), ("community", "before", "community before"),
               ("community", "after", "after"))
    lines = [f"{'':36}" + "".join(f" {title:>{len(title) + 1}}" for _, _, title in columns)]
    for key, name, fmt in ROWS:
        cells = []
        for where, when, title in columns:
            value = figures[where].get(when, {}).get(key)
            cells.append(f" {'—' if value is None else fmt.format(value):>{len(title) + 1}}")
        lines.append(f"{name:36}" + "".join(cells))
    return "\n".join(lines)


class Command(BaseCommand):
    help = "Propose moderation thresholds recalibrated on the community's decisions plus dev data."

    def add_arguments(self, parser):
        parser.add_argument("--data", help="directory with dev.csv (default: the setting "
                            "HOLDFAST_MODERATION_POLICY_DATA, else ../shared/data/moderation)")
        parser.add_argument("--since", help="only decisions on or after this date (YYYY-MM-DD)")
        parser.add_argument("--decisions", help="an export_decisions CSV to use instead of the database's")
        parser.add_argument("--min-decisions", type=int, default=30,
                            help="fewest usable community decisions to calibrate on (default 30)")
        parser.add_argument("--retrain-head", action="store_true",
                            help="also measure the text model's head refitted on dev + community labels "
                            "(2-fold cross-fitted on dev; measured only, never applied)")
        parser.add_argument("--first-stage-only", action="store_true",
                            help="recalibrate the text model only, even where the second stage runs")

    def handle(self, *args, data: str, since: str | None, decisions: str | None, min_decisions: int,
               first_stage_only: bool, retrain_head: bool = False, **options):
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        from moderation.learning.proposal import ProposalError, default_data_dir, propose

        start = parse_since(since)
        if since and decisions:
            raise CommandError("--since selects the database's decisions: drop it when using --decisions")
        if min_decisions < 1:
            raise CommandError("--min-decisions must be at least 1")
        try:
            with Progress(TextColumn("{task.description}"), BarColumn(),
                          TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(),
                          transient=True, disable=options.get("verbosity", 1) < 1) as bar:
                task = bar.add_task("reading decisions", total=None)

                def progress(stage: str, done: int, total: int) -> None:
                    bar.update(task, description=stage, completed=done, total=total)

                result = propose(
                    Path(data) if data else default_data_dir(), since=start,
                    decisions_file=Path(decisions) if decisions else None,
                    min_decisions=min_decisions, first_stage_only=first_stage_only, retrain_head=retrain_head,
                    proposed_by_label="propose_policy command", progress=progress,
                )
        except ProposalError as exc:
            raise CommandError(str(exc)) from None
        f = result.figures
        self.stdout.write(f"stages calibrated: {f['stages']}; in force: version {f['in_force_version']}")
        for note in result.notes:
            self.stdout.write(note)
        self.stdout.write(figures_table(f))
        if "retrained_head" in f:
            head = f["retrained_head"]["dev_crossfit"]
            self.stdout.write(
                "retrained head (the text model's stacker refitted on dev + community, first stage alone, "
                "2-fold cross-fitted on dev; measured only, not applied): "
                + ", ".join(f"{name} {head[key]:.3f}" for key, name, _ in ROWS[:-1]
                            if head.get(key) is not None))
        if result.refused:
            raise CommandError(f"{result.refused} (stored as version {result.version.pk}, refused)")
        self.stdout.write(f"proposed as version {result.version.pk}: an admin applies it at "
                          "/moderation/policy/")
