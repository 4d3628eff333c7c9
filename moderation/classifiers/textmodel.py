"""The trained text classifier (violence, hate, offensive) from moderation.ml."""

from __future__ import annotations

from moderation.ml import CATEGORIES
from moderation.ml.model import MODEL_NAME, load_model
from moderation.ml.policy import Thresholds

from .base import Classifier, Item, Result


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
        # The policy version in force (shipped or applied by an admin): with the second stage on,
        # the thresholds calibrated jointly with it (a wider review band: the second stage
        # decides most of it); else this model's own. Called once per batch (policy memo).
        from moderation import policy_versions, second_stage

        active = policy_versions.active_thresholds()
        on = second_stage.switched_on() if self.with_second_stage is None else self.with_second_stage
        if on and active.first_stage_with_second is not None:
            return dict(active.first_stage_with_second)
        return dict(active.first_stage)

    def classify(self, items: list[Item]) -> list[Result]:
        if not items:
            return []
        # Items arrive normalised already (the same moderation.ml.normalise.normalise).
        p = self.model.probabilities([item.normalised for item in items])
        return [Result(scores=dict(zip(CATEGORIES, map(float, row), strict=True))) for row in p]
