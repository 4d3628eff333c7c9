"""Command line: ``python -m moderation.ml train|evaluate|score``.

Errors are reported as one line on stderr with exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from .evaluation import evaluate, format_report
from .model import ARTEFACT_DIR, ARTEFACT_FILE, labels_from_probabilities, read_model
from .normalise import normalise
from .policy import (
    decide_array,
    policy_metrics,
    removal_category_array,
    thresholds_arrays,
    thresholds_from_json,
)
from .training import DataError, read_dataset, train


def _data_paths(data: Path) -> tuple[Path, Path | None]:
    if data.is_dir():
        dev = data / "dev.csv"
        return data / "train.csv", dev if dev.is_file() else None
    return data, None


def _cmd_train(args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    train_csv, dev_csv = _data_paths(Path(args.data))
    if args.dev:
        dev_csv = Path(args.dev)
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), transient=True) as bar:
        task = bar.add_task("training", total=None)

        def progress(stage: str, done: int, total: int) -> None:
            bar.update(task, description=stage, completed=done, total=total)

        report = train(train_csv, dev_csv, Path(args.out), seed=args.seed, progress=progress,
                       deep=False if args.no_deep else None,
                       finetuned=Path(args.finetuned) if args.finetuned else None)
    print(report.summary())
    print("wrote: " + ", ".join(str(p) for p in report.files))
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    data = Path(args.data)
    path = data / "dev.csv" if data.is_dir() else data
    artefacts = Path(args.artefacts)
    model_path = artefacts / ARTEFACT_FILE
    thr_path = artefacts / "thresholds.json"
    for p in (model_path, thr_path):
        if not p.is_file():
            raise DataError(f"artefact file not found: {p}")
    model = read_model(model_path)
    thresholds = thresholds_from_json(json.loads(thr_path.read_text())["thresholds"])
    ds = read_dataset(path)
    t0 = time.perf_counter()
    p = model.probabilities([normalise(t) for t in ds.texts])
    elapsed = time.perf_counter() - t0
    rv, rm = thresholds_arrays(thresholds)
    actions = decide_array(p, rv, rm)
    report = evaluate(ds.labels, labels_from_probabilities(p, model.label_thresholds), ds.sources,
                      actions, removal_category_array(p, rm))
    print(format_report(report, f"{model.name} {model.version} on {path}"))
    print(f"scored {len(ds.texts)} posts in {elapsed:.2f}s ({len(ds.texts) / elapsed:,.0f} posts/s)")
    if args.json:
        out = report.to_dict()
        out["policy"] = policy_metrics(actions, ds.labels, removal_category_array(p, rm))
        Path(args.json).write_text(json.dumps(out, indent=2, sort_keys=True, default=float) + "\n")
    return 0


def _cmd_score(args: argparse.Namespace) -> int:
    from .model import moderate_texts

    texts = args.text or [line.rstrip("\n") for line in sys.stdin]
    for text, (scores, d) in zip(texts, moderate_texts(texts), strict=True):
        print(json.dumps({"text": text, "scores": {k: round(v, 4) for k, v in scores.items()},
                          "action": d.action, "category": d.category, "flags": list(d.flags),
                          "reason": d.reason}))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m moderation.ml", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train, calibrate on dev, write artefacts")
    t.add_argument("--data", required=True, help="directory with train.csv (+ dev.csv) or a train CSV")
    t.add_argument("--dev", help="dev CSV (default: DATA/dev.csv if present)")
    t.add_argument("--out", default=str(ARTEFACT_DIR), help="artefact directory")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--no-deep", action="store_true",
                   help="skip the second stage (trained by default when the 'deep' extra is installed)")
    t.add_argument("--finetuned", help="reuse these fine-tuned weights instead of fine-tuning again")
    t.set_defaults(func=_cmd_train)
    e = sub.add_parser("evaluate", help="evaluate the artefact on a labelled CSV")
    e.add_argument("--data", required=True, help="directory with dev.csv, or a CSV file")
    e.add_argument("--artefacts", default=str(ARTEFACT_DIR))
    e.add_argument("--json", help="also write the report as JSON here")
    e.set_defaults(func=_cmd_evaluate)
    s = sub.add_parser("score", help="score texts (arguments or stdin lines) with the committed artefact")
    s.add_argument("text", nargs="*")
    s.set_defaults(func=_cmd_score)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except (DataError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
