"""Schemathesis drives every operation of the project's own OpenAPI schema, anonymously
and with a token: no server errors, and every response conforms to the schema."""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from microblog.wsgi import application

# The "defaults" operations (Mastodon's start-up endpoints Holdfast answers with an empty
# list) take no input: test_api.py checks their answers, and fuzzing them only cost CI time.
schema = schemathesis.openapi.from_wsgi("/api/schema/", application).exclude(tag="defaults")
# Mastodon's API has three times the operations of Holdfast's own; five examples each keep
# the whole fuzz run near what it took before the Mastodon API came (CI time is shared).
holdfast_schema = schema.include(path_regex="^/api/holdfast/")
mastodon_schema = schema.exclude(path_regex="^/api/holdfast/")
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance, status_code_conformance]
EXAMPLES = 12
MASTODON_EXAMPLES = 5


@pytest.fixture
def fuzz_user(django_db_blocker):
    """A user with posts to act on; created outside the test transaction so the app sees it."""
    from microblog.accounts.models import User
    from microblog.accounts.services import create_access_token
    from microblog.posts import services as posts

    with django_db_blocker.unblock():
        user, _ = User.objects.get_or_create(username="fuzzer")
        if not user.posts.exists():
            posts.create_post(user, text="fuzz target #fuzz")
        _, token = create_access_token(user, "fuzz")
    return token


def _anonymous(case):
    case.call_and_validate(checks=CHECKS, excluded_checks=[])


def _authenticated(case, token):
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)


@pytest.mark.django_db(transaction=True)
@holdfast_schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_holdfast_api_anonymous(case):
    _anonymous(case)


@pytest.mark.django_db(transaction=True)
@holdfast_schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_holdfast_api_authenticated(case, fuzz_user):
    _authenticated(case, fuzz_user)


@pytest.mark.django_db(transaction=True)
@mastodon_schema.parametrize()
@settings(max_examples=MASTODON_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_mastodon_api_anonymous(case):
    _anonymous(case)


@pytest.mark.django_db(transaction=True)
@mastodon_schema.parametrize()
@settings(max_examples=MASTODON_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_mastodon_api_authenticated(case, fuzz_user):
    _authenticated(case, fuzz_user)
