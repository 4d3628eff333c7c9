import pytest
from django.contrib.auth.models import Group
from django.test import Client

from moderation.classifiers import base as classifier_base

DEFAULT_CLASSIFIERS = (
    "moderation.classifiers.rules.RuleClassifier",
    "moderation.classifiers.textmodel.TextModelClassifier",
    "moderation.classifiers.spam.SpamClassifier",
)


@pytest.fixture(autouse=True)
def _fresh_classifiers(settings):
    """Every default classifier (whatever the rest of the suite pins), with fresh instances
    and circuit breakers (they are per process)."""
    settings.HOLDFAST_MODERATION_CLASSIFIERS = list(DEFAULT_CLASSIFIERS)
    classifier_base._instances.clear()
    classifier_base._breakers.clear()
    yield
    classifier_base._instances.clear()
    classifier_base._breakers.clear()


@pytest.fixture
def make_moderator(make_user):
    def make(username: str = "mod", **extra):
        user = make_user(username, **extra)
        group, _ = Group.objects.get_or_create(name="moderator")
        user.groups.add(group)
        return user

    return make


@pytest.fixture
def moderator(make_moderator):
    return make_moderator("mod")


@pytest.fixture
def moderator2(make_moderator):
    return make_moderator("mod2")


@pytest.fixture
def client_for():
    def make(user) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return make


@pytest.fixture
def rule(moderator):
    from moderation import rules_service

    def make(pattern: str, kind: str = "keyword", category: str = "hate", action: str = "review"):
        return rules_service.create_rule(
            moderator, kind=kind, pattern=pattern, category=category, action=action
        )

    return make


@pytest.fixture
def only_rules(settings):
    settings.HOLDFAST_MODERATION_CLASSIFIERS = ["moderation.classifiers.rules.RuleClassifier"]


BENIGN = "Our team won the match today, great game"
VIOLENT = "I will kill you and your whole family, you deserve to die"
