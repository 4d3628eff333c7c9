"""The classifier registry: settings list enabled classifiers by dotted path."""

from .base import Classifier, ClassifierUnavailable, Item, Result, enabled_classifiers, load_classifier

__all__ = ["Classifier", "ClassifierUnavailable", "Item", "Result", "enabled_classifiers", "load_classifier"]
