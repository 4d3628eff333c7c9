"""Pure-Python text-classification core of the moderation app (no Django imports).

Public entry points:

- :func:`moderation.ml.normalise.normalise`
- :func:`moderation.ml.model.score_texts`, :func:`moderation.ml.model.model_version`
- :func:`moderation.ml.policy.decide`
- :func:`moderation.ml.training.train`
- :func:`moderation.ml.evaluation.evaluate`
"""

CATEGORIES: tuple[str, ...] = ("violence", "hate", "offensive")
LABELS: tuple[str, ...] = ("violence", "hate", "offensive", "ok")
