"""Propose a recalibrated moderation policy from the community's own decisions plus dev.

1. Labelled sets: the shared ``dev.csv`` (scored here with the shipped models) and the
   community's final human decisions (``decisions.human_decisions`` or an exported file), whose
   first- and second-stage scores are the stored ``ClassifierScore`` rows of the shipped model
   versions (posts without them are scored here). Only the text model's labels count (ok,
   offensive, hate, violence); spam and "other" decisions are left out and counted.
2. Thresholds: the project's calibration maths (:func:`recalibrate`, the one call into it) over
   dev and the community together, under :func:`calibration_targets` (the issue's hard safety
   targets), with violence recall held at least where the policy in force has it on dev.
3. Figures before (the policy in force) and after, on dev and on the community's decisions.
4. Safety: a proposal that lets more dev violence posts through without a human than the
   policy in force (lower violence recall on dev), or misses a safety target on dev, is stored
   as *refused* with a one-line reason (kept so the attempt and its figures stay visible) and
   can never be applied.

Bad input (unknown ids, duplicate or contradictory labels, too few decisions, no dev data)
raises :class:`ProposalError` before anything is stored.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
from django.conf import settings

from moderation import policy_versions
from moderation.ml import CATEGORIES
from moderation.ml import policy as ml_policy
from moderation.ml.normalise import normalise
from moderation.models import ClassifierScore, PolicyVersion
from moderation.policy_versions import StageThresholds

from .decisions import DecisionsError, check_known, human_decisions, read_decisions_file

__all__ = ["ProposalError", "ProposalResult", "calibration_targets", "propose", "recalibrate"]

MODEL_LABELS = ("ok", "offensive", "hate", "violence")
MIN_DECISIONS = 30
CHUNK = 500
# The hard safety targets (on dev): violence posts not auto-allowed >= 0.95, precision of
# automatic removals >= 0.90, ok posts removed <= 1 %, error among auto-decided posts <= 5 %.
SAFETY_TARGETS = {"violence_recall": 0.95, "removal_precision": 0.90, "max_ok_removal": 0.01,
                  "max_auto_error": 0.05}
FIGURES = ("n", "share_auto", "violence_recall", "removal_precision", "ok_removed", "auto_error",
           "violence_allowed")

ProgressFn = Callable[[str, int, int], None]


class ProposalError(ValueError):
    """Input a proposal cannot be computed from; the message is a single user-facing line."""


@dataclass
class LabelledSet:
    name: str
    labels: np.ndarray
    sources: np.ndarray
    p: np.ndarray  # first-stage scores (n, 3)
    q: np.ndarray | None = None  # second-stage scores (n, 3), in two-stage mode
    notes: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)  # raw texts (for --retrain-head)

    def __len__(self) -> int:
        return len(self.labels)


@dataclass
class ProposalResult:
    version: PolicyVersion
    refused: str  # the one-line refusal reason, "" when proposed
    figures: dict
    notes: list[str]


def calibration_targets() -> ml_policy.CalibrationTargets:
    """The calibration maths' targets with the issue's hard safety targets (overridable, for an
    operator with other limits, by the ``HOLDFAST_MODERATION_POLICY_TARGETS`` setting)."""
    overrides = getattr(settings, "HOLDFAST_MODERATION_POLICY_TARGETS", {}) or {}
    return dataclasses.replace(ml_policy.CalibrationTargets(), **{**SAFETY_TARGETS, **overrides})


# Scoring -------------------------------------------------------------------------------------


def _noop(stage: str, done: int, total: int) -> None:
    return None


def score_first_stage(texts: list[str], progress: ProgressFn = _noop, what: str = "") -> np.ndarray:
    """The shipped text model's scores for raw texts, in chunks (progress per chunk)."""
    from moderation.ml.model import load_model

    model = load_model()
    out = np.zeros((len(texts), len(CATEGORIES)))
    for start in range(0, len(texts), CHUNK):
        chunk = texts[start : start + CHUNK]
        out[start : start + len(chunk)] = model.probabilities([normalise(t) for t in chunk])
        progress(f"first stage: scoring {what}", start + len(chunk), len(texts))
    return out


def score_second_stage(texts: list[str], progress: ProgressFn = _noop, what: str = "") -> np.ndarray:
    """The shipped second stage's scores for raw texts (the pipeline's own scoring function)."""
    from moderation.ml import deep

    out = np.zeros((len(texts), len(CATEGORIES)))
    for start in range(0, len(texts), CHUNK // 8):
        chunk = texts[start : start + CHUNK // 8]
        out[start : start + len(chunk)] = deep.decide([normalise(t) for t in chunk])[0]
        progress(f"second stage: scoring {what}", start + len(chunk), len(texts))
    return out


def two_stage_mode() -> bool:
    """Calibrate both stages only where the second stage runs (switched on, extra installed here)."""
    from moderation import second_stage

    return second_stage.enabled()


def _stored_scores(post_ids: list[int], classifier: str, version: str) -> dict[int, np.ndarray]:
    """The latest stored scores per post of one classifier at one version (all three categories)."""
    found: dict[int, dict[str, float]] = {}
    rows = (ClassifierScore.objects.filter(post_id__in=post_ids, classifier=classifier, version=version,
                                           category__in=CATEGORIES)
            .order_by("created_at", "pk").values_list("post_id", "category", "score"))
    for post_id, category, score in rows.iterator(chunk_size=5000):
        found.setdefault(post_id, {})[category] = score
    complete = {pid: s for pid, s in found.items() if len(s) == len(CATEGORIES)}
    return {pid: np.array([s[c] for c in CATEGORIES]) for pid, s in complete.items()}


def _with_stored(post_ids: list[int], texts: list[str], classifier: str, version: str | None,
                 scorer: Callable[..., np.ndarray], progress: ProgressFn,
                 what: str) -> tuple[np.ndarray, int]:
    """Stored scores where they exist for the shipped version, the rest scored now."""
    stored = _stored_scores(post_ids, classifier, version) if version else {}
    missing = [i for i, pid in enumerate(post_ids) if pid not in stored]
    out = np.zeros((len(post_ids), len(CATEGORIES)))
    for i, pid in enumerate(post_ids):
        if pid in stored:
            out[i] = stored[pid]
    if missing:
        out[missing] = scorer([texts[i] for i in missing], progress, what)
    return out, len(missing)


# Labelled sets --------------------------------------------------------------------------------


def dev_set(data_dir: Path, two_stage: bool, progress: ProgressFn = _noop) -> LabelledSet:
    from moderation.ml.training import DataError, read_dataset

    path = Path(data_dir)
    dev_csv = path / "dev.csv" if path.is_dir() else path
    try:
        dev = read_dataset(dev_csv)
    except DataError as exc:
        raise ProposalError(str(exc)) from None
    if not (dev.labels == "violence").any():
        raise ProposalError(f"{dev_csv}: no violence posts: violence recall on dev cannot be checked")
    p = score_first_stage(dev.texts, progress, "dev")
    q = score_second_stage(dev.texts, progress, "dev") if two_stage else None
    return LabelledSet("dev", dev.labels, dev.sources, p, q, texts=list(dev.texts))


def community_set(
    two_stage: bool, since: datetime | None = None, decisions_file: Path | None = None,
    min_decisions: int = MIN_DECISIONS, progress: ProgressFn = _noop,
) -> LabelledSet:
    """The community's final human labels with their first- (and second-) stage scores."""
    from microblog.posts.models import Post
    from moderation import second_stage
    from moderation.ml.model import load_model

    try:
        if decisions_file is not None:
            labels = read_decisions_file(decisions_file)
            texts = dict(Post.objects.filter(pk__in=list(labels)).values_list("pk", "text"))
            check_known(labels, texts, decisions_file)
            origin = str(decisions_file)
        else:
            found = human_decisions(since)
            labels = {d.post_id: d.label for d in found}
            texts = {d.post_id: d.text for d in found}
            origin = "moderators' decisions" + (f" since {since:%Y-%m-%d}" if since else "")
    except DecisionsError as exc:
        raise ProposalError(str(exc)) from None
    ids = sorted(pid for pid, label in labels.items() if label in MODEL_LABELS)
    left_out = len(labels) - len(ids)
    if len(ids) < min_decisions:
        raise ProposalError(
            f"too few decisions to calibrate on: {len(ids)} usable in {origin} (need at least "
            f"{min_decisions}; spam and 'other' decisions do not count)")
    y = np.array([labels[i] for i in ids], dtype=object)
    text_list = [texts[i] for i in ids]
    p, rescored = _with_stored(ids, text_list, "textmodel", load_model().version, score_first_stage,
                               progress, "community posts")
    notes = [f"community: {len(ids)} decisions from {origin}"]
    if left_out:
        notes.append(f"{left_out} spam/other decisions left out (not the text model's categories)")
    if rescored:
        notes.append(f"{rescored} community posts had no stored first-stage score of the shipped model: "
                     "scored now")
    q = None
    if two_stage:
        from moderation.ml import deep

        q, rescored2 = _with_stored(ids, text_list, second_stage.NAME, deep.load_head().version,
                                    score_second_stage, progress, "community posts")
        if rescored2:
            notes.append(f"{rescored2} community posts had no stored second-stage score: scored now")
    return LabelledSet("community", y, np.array(["holdfast"] * len(ids), dtype=object), p, q, notes,
                       texts=text_list)


# Calibration and figures ------------------------------------------------------------------------


def recalibrate(p: np.ndarray, q: np.ndarray | None, labels: np.ndarray, current: StageThresholds,
                targets: ml_policy.CalibrationTargets) -> StageThresholds:
    """New thresholds for every stage from scores and labels: the one place that calls the
    project's calibration maths (``moderation.ml.policy.calibrate`` for the text model alone,
    ``deep.calibrate_joint`` for both stages together). Without second-stage scores the
    second stage keeps the thresholds in force. The targets are tightened and the second
    stage's capacity applied exactly as when the models were trained (``two_stage.shipped_targets``)."""
    from moderation.ml import two_stage

    targets = two_stage.shipped_targets(targets)
    first, _ = ml_policy.calibrate(p, labels, targets)
    if q is None:
        return StageThresholds(0, first, current.first_stage_with_second, current.second_stage)
    from moderation.ml import deep

    first_with_second, second, _ = deep.calibrate_joint(p, q, labels, targets, first)
    return StageThresholds(0, first, first_with_second, second)


def actions_for(thresholds: StageThresholds, s: LabelledSet) -> tuple[np.ndarray, np.ndarray]:
    """What the pipeline would do with each post of ``s``: action codes and removal categories."""
    two = s.q is not None and thresholds.second_stage is not None and thresholds.first_stage_with_second
    first = thresholds.first_stage_with_second if two else thresholds.first_stage
    rv, rm = ml_policy.thresholds_arrays(first)
    actions, cats = ml_policy.decide_array(s.p, rv, rm), ml_policy.removal_category_array(s.p, rm)
    if two:
        rv2, rm2 = ml_policy.thresholds_arrays(thresholds.second_stage)
        band = actions == 1
        cats = np.where(band, ml_policy.removal_category_array(s.q, rm2), cats)
        actions = np.where(band, ml_policy.decide_array(s.q, rv2, rm2), actions).astype(np.int8)
    return actions, cats


def figures(thresholds: StageThresholds, s: LabelledSet) -> dict:
    actions, cats = actions_for(thresholds, s)
    m = ml_policy.policy_metrics(actions, s.labels, cats)
    out = {k: _json_number(m[k]) for k in FIGURES}
    out["per_source_share_auto"] = {
        src: _json_number(float((actions[s.sources == src] != 1).mean()))
        for src in sorted(set(s.sources.tolist()))
    }
    return out


def _halves(labels: np.ndarray, seed: int) -> np.ndarray:
    """0/1 per row, each label split evenly (so both halves see violence)."""
    rng = np.random.default_rng(seed)
    half = np.zeros(len(labels), dtype=np.int8)
    for label in np.unique(labels):
        idx = np.flatnonzero(labels == label)
        half[rng.permutation(idx)[1::2]] = 1
    return half


def retrained_head_figures(dev: LabelledSet, community: LabelledSet, current: StageThresholds,
                           targets: ml_policy.CalibrationTargets, seed: int = 0) -> dict:
    """``--retrain-head``, measured only: the text model's logistic stacker (its head over the base
    models' margins and the threat lexicon) refitted on dev + community labels, with thresholds
    recalibrated on its scores; 2-fold cross-fitted on dev like :func:`crossfit_figures`, so the
    two compare. The refitted head is not stored or applied (a head is a model artefact: ship one
    through ``train_classifier``); the figures say whether retraining on the community would pay."""
    import scipy.sparse as sp

    from moderation.ml.model import load_model, stack_features, stacked_probabilities
    from moderation.ml.training import _fit_stacker, cumulative_targets

    model = load_model()
    weight = model.featuriser.lexicon_weight
    m_dev, l_dev = model.margins([normalise(t) for t in dev.texts])
    m_com, l_com = model.margins([normalise(t) for t in community.texts])
    half = _halves(dev.labels, seed)
    actions = np.zeros(len(dev), dtype=np.int8)
    cats = np.full(len(dev), -1)
    for h in (0, 1):
        fit, test = half != h, half == h
        margins = np.vstack([m_dev[fit], m_com])
        lex = sp.vstack([l_dev[fit], l_com], format="csr")
        labels = np.concatenate([dev.labels[fit], community.labels])
        coef, intercept = _fit_stacker(stack_features(margins, lex, weight), cumulative_targets(labels), seed)
        p_fit = stacked_probabilities(margins, lex, weight, coef, intercept)
        thresholds = recalibrate(p_fit, None, labels, current, targets)
        p_test = stacked_probabilities(m_dev[test], l_dev[test], weight, coef, intercept)
        part = LabelledSet("dev half", dev.labels[test], dev.sources[test], p_test)
        # the first stage alone: a refitted head changes the second stage's inputs too
        actions[test], cats[test] = actions_for(dataclasses.replace(thresholds, second_stage=None), part)
    m = ml_policy.policy_metrics(actions, dev.labels, cats)
    return {k: _json_number(m[k]) for k in FIGURES}


def crossfit_figures(dev: LabelledSet, community: LabelledSet, current: StageThresholds,
                     targets: ml_policy.CalibrationTargets, seed: int = 0) -> dict:
    """An honest estimate of the proposal on dev: 2-fold cross-fitted (thresholds calibrated on
    one half of dev plus the community, measured on the other half), split within each label."""
    half = _halves(dev.labels, seed)
    actions = np.zeros(len(dev), dtype=np.int8)
    cats = np.full(len(dev), -1)
    for h in (0, 1):
        fit, test = half != h, half == h
        q = None if dev.q is None else np.vstack([dev.q[fit], community.q])
        thresholds = recalibrate(np.vstack([dev.p[fit], community.p]), q,
                                 np.concatenate([dev.labels[fit], community.labels]), current, targets)
        part = LabelledSet("dev half", dev.labels[test], dev.sources[test], dev.p[test],
                           None if dev.q is None else dev.q[test])
        actions[test], cats[test] = actions_for(thresholds, part)
    m = ml_policy.policy_metrics(actions, dev.labels, cats)
    out = {k: _json_number(m[k]) for k in FIGURES}
    out["per_source_share_auto"] = {
        src: _json_number(float((actions[dev.sources == src] != 1).mean()))
        for src in sorted(set(dev.sources.tolist()))
    }
    return out


def _json_number(x: float) -> float | int | None:
    if isinstance(x, int):
        return x
    return None if x is None or math.isnan(x) else round(float(x), 4)


def refusal(before: Mapping, after: Mapping, targets: ml_policy.CalibrationTargets) -> str:
    """One line saying why a proposal is refused on its dev figures, or ""."""
    if (after["violence_allowed"] or 0) > (before["violence_allowed"] or 0):
        return (f"refused: violence recall on dev would fall from {before['violence_recall']:.3f} to "
                f"{after['violence_recall']:.3f} ({before['violence_allowed']} → {after['violence_allowed']} "
                "violence posts allowed without a human)")
    checks = (
        ("violence recall", after["violence_recall"], targets.violence_recall, False),
        ("removal precision", after["removal_precision"], targets.removal_precision, False),
        ("ok posts removed", after["ok_removed"], targets.max_ok_removal, True),
        ("error among auto-decided", after["auto_error"], targets.max_auto_error, True),
    )
    for name, value, bound, upper in checks:
        if value is not None and (value > bound if upper else value < bound):
            return (f"refused: {name} on dev would be {value:.3f}, the safety target is "
                    f"{'≤' if upper else '≥'} {bound}")
    return ""


# The proposal ------------------------------------------------------------------------------------


def propose(
    data_dir: Path,
    *,
    since: datetime | None = None,
    decisions_file: Path | None = None,
    min_decisions: int = MIN_DECISIONS,
    first_stage_only: bool = False,
    retrain_head: bool = False,
    proposed_by=None,
    proposed_by_label: str = "",
    progress: ProgressFn = _noop,
) -> ProposalResult:
    """Compute, check and store a proposal (status proposed or refused). Raises ProposalError on
    bad input, having stored nothing."""
    from moderation.ml import deep

    two_stage = two_stage_mode() and not first_stage_only
    # bad community input fails before the slower dev scoring
    community = community_set(two_stage, since, decisions_file, min_decisions, progress)
    dev = dev_set(data_dir, two_stage, progress)
    current = policy_versions.active_thresholds()
    targets = calibration_targets()
    before_dev = figures(current, dev)
    # never trade away violence recall on dev: hold it where the policy in force has it
    held = dataclasses.replace(targets, violence_recall=max(targets.violence_recall,
                                                            before_dev["violence_recall"] or 0.0))
    progress("calibrating thresholds", 0, 1)
    both_q = None if not two_stage else np.vstack([dev.q, community.q])
    proposal = recalibrate(np.vstack([dev.p, community.p]), both_q,
                           np.concatenate([dev.labels, community.labels]), current, held)
    progress("calibrating thresholds", 1, 1)
    after_dev = figures(proposal, dev)
    progress("2-fold cross-fitted estimate on dev", 0, 1)
    after_crossfit = crossfit_figures(dev, community, current, held)
    progress("2-fold cross-fitted estimate on dev", 1, 1)
    result_figures = {
        "stages": "first+second" if two_stage else "first",
        "in_force_version": current.version,
        "dev": {"before": before_dev, "after": after_dev, "after_crossfit": after_crossfit},
        "community": {"before": figures(current, community), "after": figures(proposal, community)},
    }
    if retrain_head:
        progress("refitting the text model's head (2-fold cross-fitted)", 0, 1)
        result_figures["retrained_head"] = {
            "what": "the text model's logistic stacker refitted on dev + community labels, thresholds "
                    "recalibrated, first stage alone, 2-fold cross-fitted on dev; measured only, not applied",
            "dev_crossfit": retrained_head_figures(dev, community, current, held),
        }
        progress("refitting the text model's head (2-fold cross-fitted)", 1, 1)
    refused = refusal(before_dev, after_dev, targets)
    model_versions = {"textmodel": policy_versions.shipped_model_versions()["textmodel"],
                      "deep": deep.load_head().version if two_stage else None}
    if not two_stage and proposal.second_stage is not None:
        # the second stage's thresholds were carried over from the version in force
        model_versions["deep"] = policy_versions.shipped_model_versions()["deep"]
    method = ("thresholds recalibrated on dev + community decisions "
              f"({'both stages jointly' if two_stage else 'first stage; second stage carried over'})")
    data = {"dev": str(data_dir), "dev_rows": len(dev), "community_rows": len(community),
            "since": since.isoformat() if since else None,
            "decisions_file": str(decisions_file) if decisions_file else None,
            "targets": dataclasses.asdict(targets), "notes": community.notes}
    version = policy_versions.store_proposal(
        proposal, model_versions=model_versions, figures=result_figures, data=data, method=method,
        proposed_by=proposed_by, proposed_by_label=proposed_by_label, refusal_reason=refused)
    return ProposalResult(version, refused, result_figures, community.notes)


def default_data_dir() -> Path:
    configured = getattr(settings, "HOLDFAST_MODERATION_POLICY_DATA", "")
    if configured:
        return Path(configured)
    return Path(settings.BASE_DIR).parent / "shared" / "data" / "moderation"


def propose_scheduled() -> str:
    """The beat task's work: a proposal from the last ``..._WINDOW_DAYS`` of decisions. Bad or
    missing input is logged (one line) and stores nothing; nothing is ever applied here."""
    import logging
    from datetime import timedelta

    from django.utils import timezone

    log = logging.getLogger(__name__)
    if not getattr(settings, "HOLDFAST_MODERATION_PROPOSE_POLICY", False):
        return "off (HOLDFAST_MODERATION_PROPOSE_POLICY is false)"
    since = timezone.now() - timedelta(days=settings.HOLDFAST_MODERATION_PROPOSE_POLICY_WINDOW_DAYS)
    try:
        result = propose(default_data_dir(), since=since, proposed_by_label="propose_policy beat task",
                         min_decisions=settings.HOLDFAST_MODERATION_PROPOSE_POLICY_MIN_DECISIONS)
    except ProposalError as exc:
        log.warning("no policy proposal this time: %s", exc)
        return f"no proposal: {exc}"
    outcome = result.refused or f"proposed as version {result.version.pk}"
    log.info("policy proposal: %s", outcome)
    return outcome
