import pytest


@pytest.fixture(autouse=True)
def rules_only_moderation(settings):
    """These tests are about the social site, not about what the trained model thinks of
    their sample sentences: moderate with the (empty) rule lists only, which allows them.
    The pipeline with every classifier is tested in tests/moderation."""
    settings.HOLDFAST_MODERATION_CLASSIFIERS = ["moderation.classifiers.rules.RuleClassifier"]
