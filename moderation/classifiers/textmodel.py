"""The trained text classifier (violence, hate, offensive) from moderation.ml."""

from __future__ import annotations

import json
from functools import cache

from moderation.ml import CATEGORIES
from moderation.ml.model import ARTEFACT_DIR, MODEL_NAME, load_model
from moderation.ml.policy import Thresholds, thresholds_from_json

from .base import Classifier, Item, Result


@cache
def _thresholds() -> dict[str, Thresholds]:
    data = json.loads((ARTEFACT_DIR / "thresholds.json").read_text())
    return thresholds_from_json(data["thresholds"])


class TextModelClassifier(Classifier):
    name = "textmodel"
    categories = CATEGORIES

    def __init__(self, **options) -> None:
        super().__init__(**options)
        self.model = load_model()
        self.version = self.model.version
        self.model_name = MODEL_NAME
        # None: as this deployment runs (HOLDFAST_MODERATION_DEEP); True/False: as if the second
        # stage were on/off (``moderate_file --stages``).
        self.with_second_stage: bool | None = None

    def thresholds(self) -> dict[str, Thresholds]:
        # With the second stage on, its jointly calibrated thresholds for this model (a wider
        # review band: the second stage decides most of it); else this model's own.
        from moderation import second_stage

        if self.with_second_stage is None:
            return second_stage.first_stage_thresholds() or _thresholds()
        if self.with_second_stage:
            return second_stage.band_thresholds() or _thresholds()
        return _thresholds()

    def classify(self, items: list[Item]) -> list[Result]:
        if not items:
            return []
        # Items arrive normalised already (the same moderation.ml.normalise.normalise).
        p = self.model.probabilities([item.normalised for item in items])
        return [Result(scores=dict(zip(CATEGORIES, map(float, row), strict=True))) for row in p]
