"""Cross-validation folds stratified by source and label, so every fold has each source's classes."""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import StratifiedKFold


def source_label_folds(
    labels: np.ndarray, sources: np.ndarray, n: int, seed: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """``n`` seeded (train rows, test rows) pairs stratified by (source, label)."""
    strata = np.array([f"{s}|{y}" for s, y in zip(sources, labels, strict=True)])
    # Strata smaller than n_splits would make StratifiedKFold warn; fold them into their label.
    values, counts = np.unique(strata, return_counts=True)
    rare = set(values[counts < n].tolist())
    strata = np.array([y if s in rare else s for s, y in zip(strata, labels, strict=True)])
    n = max(2, min(n, int(np.unique(strata, return_counts=True)[1].min())))
    return list(StratifiedKFold(n_splits=n, shuffle=True, random_state=seed).split(strata, strata))

