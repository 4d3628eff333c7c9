"""Classifiers for tests and drills: one that always fails, one that is slow."""

from __future__ import annotations

import os
import time

from .base import Classifier, ClassifierUnavailable, Item, Result


class FailingClassifier(Classifier):
    """Always down: posts must go to review, never be blocked."""

    name = "failing"
    categories = ("other",)

    def classify(self, items: list[Item]) -> list[Result]:
        raise ClassifierUnavailable("scoring service unreachable (test double)")


class SlowClassifier(Classifier):
    name = "slow"
    categories = ("other",)

    def classify(self, items: list[Item]) -> list[Result]:
        time.sleep(
            float(self.options.get("seconds", os.environ.get("HOLDFAST_MODERATION_SLOW_SECONDS", 1.0)))
        )
        return [Result() for _ in items]
