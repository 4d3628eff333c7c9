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

schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance, status_code_conformance]
EXAMPLES = 12


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


@pytest.mark.django_db(transaction=True)
@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_anonymous(case):
    case.call_and_validate(checks=CHECKS, excluded_checks=[])


@pytest.mark.django_db(transaction=True)
@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_authenticated(case, fuzz_user):
    case.call_and_validate(headers={"Authorization": f"Bearer {fuzz_user}"}, checks=CHECKS)
