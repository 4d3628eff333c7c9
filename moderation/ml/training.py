"""Training, threshold calibration and evaluation -> artefact directory.

Pipeline (all seeds fixed; same data + seed -> same metrics):

1. Read the CSVs with the ``csv`` module, normalise texts.
2. Features: hashed word 1-2 grams and char_wb 3-5 grams (tf-idf, IDF fitted on train)
   plus the threat lexicon (see ``model.THREAT_PATTERNS``).
3. Three class-balanced logistic regressions on cumulative targets
   (violence; hate-or-violence; not ok).  Balanced weights because violence is 0.45 %
   of the data and we need its *ranking*, not its prior.
4. A per-category logistic stacker over [3 base margins | lexicon] fitted on 5-fold
   out-of-fold margins of train, unweighted, so the outputs are calibrated
   probabilities (Platt scaling with cross-category evidence: a post that is very
   likely hate is more likely violent).
5. Policy thresholds calibrated on dev (``policy.calibrate``); an honest estimate
   of the policy figures by 2-fold cross-fitting on dev (tune on one half, measure
   on the other).
6. Write ``model.npz``, ``thresholds.json``, ``metrics.json`` and ``MODEL_CARD.md``.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression

from . import CATEGORIES, LABELS
from .card import write_model_card
from .deep import DEEP_FILE
from .evaluation import evaluate
from .finetune import FINETUNED_FILE
from .folds import source_label_folds
from .model import (
    ARTEFACT_FILE,
    CHAR_NGRAM,
    MODEL_NAME,
    N_LEXICON,
    Featuriser,
    Model,
    char_hasher,
    fit_idf,
    labels_from_probabilities,
    save_model,
    stack_features,
    stacked_probabilities,
    word_hasher,
)
from .normalise import normalise
from .policy import (
    CalibrationTargets,
    calibrate,
    decide_array,
    policy_metrics,
    removal_category_array,
    thresholds_arrays,
    thresholds_to_json,
)
from .report import TrainingReport
from .two_stage import ERROR_BUDGETS, MARGIN, VIOLENCE_MARGIN, train_second_stage

__all__ = ["DataError", "TrainingReport", "read_dataset", "train"]



REQUIRED_COLUMNS = ("text", "label")
BASE_C = {"violence": 4.0, "hate": 2.0, "offensive": 2.0}
LEXICON_WEIGHT = 1.0
N_FOLDS = 5
MODEL_MAJOR = "1.0"

ProgressFn = Callable[[str, int, int], None]


class DataError(ValueError):
    """Bad or missing training data; the message is a single user-facing line."""


@dataclass
class Dataset:
    texts: list[str]
    labels: np.ndarray
    sources: np.ndarray


def read_dataset(path: Path) -> Dataset:
    """Read a ``text,label[,source]`` CSV; raises DataError with a one-line message."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"data file not found: {path}")
    texts: list[str] = []
    labels: list[str] = []
    sources: list[str] = []
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            header = reader.fieldnames or []
            missing = [c for c in REQUIRED_COLUMNS if c not in header]
            if missing:
                raise DataError(f"{path}: bad CSV header {header!r}, missing column(s) {missing}")
            for lineno, row in enumerate(reader, start=2):
                label = (row.get("label") or "").strip()
                if label not in LABELS:
                    raise DataError(f"{path}:{lineno}: unknown label {label!r} (expected one of {LABELS})")
                texts.append(row.get("text") or "")
                labels.append(label)
                sources.append(row.get("source") or "unknown")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 ({exc.reason})") from None
    except csv.Error as exc:
        raise DataError(f"{path}: malformed CSV ({exc})") from None
    if not texts:
        raise DataError(f"{path}: no rows")
    return Dataset(texts, np.array(labels, dtype=object), np.array(sources, dtype=object))


def cumulative_targets(labels: np.ndarray) -> np.ndarray:
    """(n, 3) booleans in CATEGORIES order: violence, >= hate, >= offensive."""
    return np.stack([labels == "violence", np.isin(labels, ["violence", "hate"]), labels != "ok"], axis=1)


def _fit_base(x: sp.csr_matrix, y: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    coefs, intercepts = [], []
    for j, cat in enumerate(CATEGORIES):
        if y[:, j].all() or not y[:, j].any():
            # degenerate tiny data set: constant model
            coefs.append(np.zeros(x.shape[1]))
            intercepts.append(8.0 if y[:, j].all() else -8.0)
            continue
        lr = LogisticRegression(C=BASE_C[cat], class_weight="balanced", solver="liblinear",
                                max_iter=1000, random_state=seed)
        lr.fit(x, y[:, j])
        coefs.append(lr.coef_.ravel())
        intercepts.append(float(lr.intercept_[0]))
    return np.vstack(coefs).astype(np.float32), np.array(intercepts, dtype=np.float32)


def _margins(x: sp.csr_matrix, coef: np.ndarray, intercept: np.ndarray) -> np.ndarray:
    return np.asarray(x @ coef.T) + intercept


def _fit_stacker(f: np.ndarray, y: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    coefs, intercepts = [], []
    for j in range(len(CATEGORIES)):
        if y[:, j].all() or not y[:, j].any():
            coefs.append(np.zeros(f.shape[1]))
            intercepts.append(8.0 if y[:, j].all() else -8.0)
            continue
        lr = LogisticRegression(C=1.0, max_iter=2000, random_state=seed).fit(f, y[:, j])
        coefs.append(lr.coef_.ravel())
        intercepts.append(float(lr.intercept_[0]))
    return np.vstack(coefs), np.array(intercepts)


def _best_f1_threshold(p: np.ndarray, y: np.ndarray) -> float:
    if not y.any():
        return 0.5
    order = np.argsort(-p, kind="stable")
    tp = np.cumsum(y[order])
    k = np.arange(1, len(p) + 1)
    f1 = 2 * tp / (k + y.sum())
    return float(p[order][int(np.argmax(f1))])


def _crossfit(
    p: np.ndarray, labels: np.ndarray, sources: np.ndarray, targets: CalibrationTargets, seed: int
) -> dict[str, float]:
    actions = np.zeros(len(labels), dtype=np.int8)
    cats = np.zeros(len(labels), dtype=np.int64)
    for a, b in source_label_folds(labels, sources, 2, seed):
        th, _ = calibrate(p[a], labels[a], targets, groups=sources[a])
        rv, rm = thresholds_arrays(th)
        actions[b] = decide_array(p[b], rv, rm)
        cats[b] = removal_category_array(p[b], rm)
    return policy_metrics(actions, labels, cats)


def _tradeoff(
    p: np.ndarray, labels: np.ndarray, sources: np.ndarray, targets: CalibrationTargets, seed: int
) -> list[dict[str, float]]:
    """Auto-decided share for other error budgets, so the operator can pick a policy."""
    rows = []
    for max_err in (0.05, 0.10, 0.15, 0.20):
        t = dataclasses.replace(targets, max_auto_error=max_err)
        _, m = calibrate(p, labels, t, groups=sources)
        cf = _crossfit(p, labels, sources, t, seed)
        rows.append({"max_auto_error": max_err, "share_auto": m["share_auto"],
                     "crossfit_share_auto": cf["share_auto"], "crossfit_auto_error": cf["auto_error"],
                     "crossfit_violence_recall": cf["violence_recall"]})
    return rows


def _counts(labels: np.ndarray) -> dict[str, int]:
    values, counts = np.unique(labels, return_counts=True)
    return {str(v): int(c) for v, c in zip(values, counts, strict=True)}


def _data_hash(paths: list[Path], seed: int) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(p.read_bytes())
    h.update(f"seed={seed};C={sorted(BASE_C.items())};lex={LEXICON_WEIGHT};char={CHAR_NGRAM}".encode())
    return h.hexdigest()[:10]


def train(
    train_csv: Path,
    dev_csv: Path | None,
    out_dir: Path,
    seed: int = 0,
    progress: ProgressFn | None = None,
    targets: CalibrationTargets | None = None,
    n_folds: int = N_FOLDS,
    tradeoff: bool = True,
    deep: bool | None = None,
    finetuned: Path | None = None,
) -> TrainingReport:
    """Train, calibrate on dev, evaluate and write the artefact files into ``out_dir``.

    ``progress(stage, done, total)`` is called as work advances (for a progress bar).
    Without ``dev_csv`` the thresholds are calibrated on out-of-fold train scores.
    ``n_folds`` and ``tradeoff`` (the error-budget table in the card) exist so tests can
    train quickly; the committed artefact uses the defaults.

    ``deep``: also train the second stage (``moderation.ml.two_stage``: MiniLM fine-tuned on
    train, a head over its logits and the first stage's scores, both stages' thresholds
    calibrated jointly on dev); None means "if the ``deep`` extra is installed and there is a
    dev set". ``finetuned``: reuse these fine-tuned weights instead of fine-tuning again (about
    half an hour on two cores).
    """
    if deep is None:
        from .deep import available

        deep = available() and dev_csv is not None
    if deep and dev_csv is None:
        raise DataError("the second stage needs a dev set to calibrate its thresholds on")
    total = 5 + n_folds + (4 + (len(ERROR_BUDGETS) if tradeoff else 0) if deep else 0)
    step = 0

    def tick(stage: str) -> None:
        nonlocal step
        step += 1
        if progress is not None:
            progress(stage, min(step, total), total)

    def deep_progress(stage: str, done: int, steps: int) -> None:
        # fine-tuning reports its own steps; every other second-stage stage is one tick
        if steps:
            if progress is not None:
                progress(f"{stage}: step {done}/{steps}", step, total)
        else:
            tick(stage)

    train_csv, out_dir = Path(train_csv), Path(out_dir)
    data = read_dataset(train_csv)
    dev = read_dataset(Path(dev_csv)) if dev_csv is not None else None
    norm = [normalise(t) for t in data.texts]
    tick("read + normalise")

    word_counts = word_hasher().transform(norm)
    char_counts = char_hasher(CHAR_NGRAM).transform(norm)
    featuriser = Featuriser(fit_idf(word_counts), fit_idf(char_counts), LEXICON_WEIGHT, CHAR_NGRAM)
    x = featuriser.transform(norm)
    y = cumulative_targets(data.labels)
    tick("features")

    # Out-of-fold margins to fit the stacker on scores the base models have not seen.
    oof = np.zeros((len(norm), len(CATEGORIES)))
    for i, (a, b) in enumerate(source_label_folds(data.labels, data.sources, n_folds, seed)):
        c, icpt = _fit_base(x[a], y[a], seed)
        oof[b] = _margins(x[b], c, icpt)
        tick(f"cross-validation fold {i + 1}")
    coef, intercept = _fit_base(x, y, seed)
    tick("final base models")

    lex = x[:, -N_LEXICON:]
    stack_f = stack_features(oof, lex, LEXICON_WEIGHT)
    stack_coef, stack_intercept = _fit_stacker(stack_f, y, seed)
    # Label thresholds from out-of-fold stacker probabilities (train only, not dev).
    p_oof = np.zeros_like(oof)
    for a, b in source_label_folds(data.labels, data.sources, n_folds, seed + 1):
        sc, si = _fit_stacker(stack_f[a], y[a], seed)
        p_oof[b] = stacked_probabilities(oof[b], lex[b], LEXICON_WEIGHT, sc, si)
    label_thresholds = np.array([_best_f1_threshold(p_oof[:, j], y[:, j]) for j in range(len(CATEGORIES))])
    tick("stacker")

    paths = [train_csv] + ([Path(dev_csv)] if dev_csv is not None else [])
    version = f"{MODEL_MAJOR}+{_data_hash(paths, seed)}"
    meta = {
        "trained_on": {"train_rows": len(norm), "dev_rows": len(dev.texts) if dev else 0,
                       "train_file": train_csv.name, "dev_file": Path(dev_csv).name if dev_csv else None},
        "seed": seed, "base_C": BASE_C, "n_folds": n_folds,
    }
    model = Model(MODEL_NAME, version, meta, featuriser, coef, intercept, stack_coef,
                  stack_intercept, label_thresholds)

    base_targets = targets or CalibrationTargets()
    # Tuned to the bounds exactly, thresholds overshoot them on posts they were not tuned on.
    targets = base_targets.tightened(MARGIN, VIOLENCE_MARGIN)
    dev_norm: list[str] = []
    if dev is not None:
        dev_norm = [normalise(t) for t in dev.texts]
        p_dev = model.probabilities(dev_norm)
        cal_labels, cal_sources, cal_p = dev.labels, dev.sources, p_dev
    else:
        cal_labels, cal_sources, cal_p = data.labels, data.sources, p_oof
    thresholds, _ = calibrate(cal_p, cal_labels, targets, groups=cal_sources)
    review_at, remove_at = thresholds_arrays(thresholds)
    actions = decide_array(cal_p, review_at, remove_at)
    # Honest estimate: thresholds tuned on one half of the calibration set, applied to the other.
    crossfit = _crossfit(cal_p, cal_labels, cal_sources, targets, seed)
    tradeoff_rows = _tradeoff(cal_p, cal_labels, cal_sources, targets, seed) if tradeoff else []
    report_eval = evaluate(cal_labels, labels_from_probabilities(cal_p, label_thresholds),
                           cal_sources, actions, removal_category_array(cal_p, remove_at))
    tick("calibrate + evaluate")

    deep_report = None
    if deep and dev is not None:
        deep_report = train_second_stage(
            norm, data.labels, dev_norm, dev.labels, dev.sources, p_dev, base_targets, version, seed,
            out_dir, finetuned=finetuned, progress=deep_progress, curve=tradeoff)

    out_dir.mkdir(parents=True, exist_ok=True)
    save_model(out_dir / ARTEFACT_FILE, model)
    thr_json = {
        "model": MODEL_NAME, "version": version,
        "definition": "remove if any score >= remove_at, else review if any score >= review_at, else allow",
        "targets": targets.__dict__,
        "thresholds": thresholds_to_json(thresholds),
        "calibrated_on": "dev" if dev is not None else "train out-of-fold",
        "seed": seed,
    }
    (out_dir / "thresholds.json").write_text(json.dumps(thr_json, indent=2, sort_keys=True) + "\n")
    metrics = {
        "version": version, "evaluated_on": thr_json["calibrated_on"],
        "report": report_eval.to_dict(), "crossfit_policy": crossfit, "tradeoff": tradeoff_rows,
    }
    files = [out_dir / ARTEFACT_FILE, out_dir / "thresholds.json", out_dir / "metrics.json"]
    if deep_report is not None:
        metrics["deep"] = deep_report
        files += [out_dir / DEEP_FILE, out_dir / FINETUNED_FILE]
    else:
        # a stale second stage would be paired with a first stage it was not calibrated for
        for stale in (DEEP_FILE, FINETUNED_FILE):
            (out_dir / stale).unlink(missing_ok=True)
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    report = TrainingReport(
        version, out_dir, len(norm), len(dev.texts) if dev else 0, thresholds, report_eval, crossfit,
        tradeoff_rows, files, deep_report,
        hyper={"char_ngram": CHAR_NGRAM, "n_lexicon": N_LEXICON, "base_C": BASE_C, "n_folds": n_folds},
        class_counts={"train": _counts(data.labels), "dev": _counts(dev.labels) if dev else {}},
    )
    report.files.append(write_model_card(out_dir, report, thr_json))
    tick("write artefacts")
    return report
