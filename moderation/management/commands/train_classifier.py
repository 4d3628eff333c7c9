"""Rebuild the text classifier artefact reproducibly from labelled data.

    manage.py train_classifier --data /path/to/dir-with-train.csv-and-dev.csv [--out DIR] [--seed 0]
        [--no-deep] [--finetuned FILE]

Wraps ``moderation.ml.training.train`` with a progress bar. The artefact (model,
thresholds calibrated on dev, metrics, model card) is written to
``moderation/ml/artefacts`` by default, so the site never reads the data at run time.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Train the violence/hate/offensive classifier and write its artefact and model card."
    requires_system_checks: list = []
    requires_migrations_checks = False

    def add_arguments(self, parser):
        from moderation.ml.model import ARTEFACT_DIR

        parser.add_argument(
            "--data", required=True, help="a directory with train.csv (and dev.csv), or a CSV"
        )
        parser.add_argument("--dev", help="dev CSV (default: dev.csv next to train.csv)")
        parser.add_argument("--out", default=str(ARTEFACT_DIR), help="artefact directory")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument(
            "--no-deep", action="store_true",
            help="skip the second stage (trained by default when the 'deep' extra is installed)",
        )
        parser.add_argument(
            "--finetuned",
            help="reuse these fine-tuned MiniLM weights (a finetuned.safetensors) instead of fine-tuning "
                 "again (about half an hour on two cores)",
        )

    def handle(
        self, *args, data: str, dev: str | None, out: str, seed: int, no_deep: bool = False,
        finetuned: str | None = None, **options,
    ):
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        from moderation.ml.training import DataError, train

        path = Path(data)
        if path.is_dir():
            train_csv, dev_csv = path / "train.csv", path / "dev.csv"
            dev_csv = dev_csv if dev_csv.is_file() else None
        else:
            train_csv, dev_csv = path, None
        if dev:
            dev_csv = Path(dev)
        if not train_csv.is_file():
            raise CommandError(f"training data not found: {train_csv}")
        if dev_csv is not None and not dev_csv.is_file():
            raise CommandError(f"dev data not found: {dev_csv}")
        if finetuned and not Path(finetuned).is_file():
            raise CommandError(f"fine-tuned weights not found: {finetuned}")
        if finetuned and no_deep:
            raise CommandError("--finetuned is for the second stage, which --no-deep skips")
        try:
            with Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.completed}/{task.total}"),
                TimeElapsedColumn(),
                transient=True,
            ) as bar:
                task = bar.add_task("training", total=None)

                def progress(stage: str, done: int, total: int) -> None:
                    bar.update(task, description=stage, completed=done, total=total)

                report = train(
                    train_csv, dev_csv, Path(out), seed=seed, progress=progress,
                    deep=False if no_deep else None,
                    finetuned=Path(finetuned) if finetuned else None,
                )
        except DataError as exc:
            raise CommandError(str(exc)) from None
        except OSError as exc:
            raise CommandError(f"cannot write the artefact: {exc}") from None
        self.stdout.write(report.summary())
        self.stdout.write("wrote: " + ", ".join(str(p) for p in report.files))
