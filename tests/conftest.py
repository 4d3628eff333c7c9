import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from rest_framework.test import APIClient

from microblog.accounts.models import User
from microblog.accounts.services import create_access_token
from microblog.posts import services as posts


@pytest.fixture
def make_user(db):
    counter = iter(range(1, 10_000))

    def make(username: str | None = None, **extra) -> User:
        name = username or f"user{next(counter)}"
        return User.objects.create_user(username=name, password="correct horse battery", **extra)

    return make


@pytest.fixture
def alice(make_user):
    return make_user("alice", display_name="Alice")


@pytest.fixture
def bob(make_user):
    return make_user("bob", display_name="Bob")


@pytest.fixture
def carol(make_user):
    return make_user("carol")


@pytest.fixture
def publish(django_capture_on_commit_callbacks):
    """Create a post and let moderation run, as it does once the transaction commits."""

    def make(author, text: str = "hello world", **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            post = posts.create_post(author, text=text, **kwargs)
        post.refresh_from_db()
        return post

    return make


@pytest.fixture
def committing(django_capture_on_commit_callbacks):
    """Run on-commit callbacks (moderation) for whatever happens inside the block."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def api(db):
    return APIClient()


@pytest.fixture
def api_as():
    def make(user) -> APIClient:
        client = APIClient()
        _, raw = create_access_token(user, "tests")
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        return client

    return make


def image_bytes(fmt: str = "PNG", size=(32, 24), color=(200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format=fmt)
    return out.getvalue()


@pytest.fixture
def png_upload():
    return lambda name="pic.png": SimpleUploadedFile(name, image_bytes(), content_type="image/png")


@pytest.fixture
def throttle_rates(settings, monkeypatch):
    """Set low rates for one test. DRF copies rates into class attributes at import time."""
    from django.core.cache import cache
    from rest_framework import throttling

    rates = dict(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"])
    for cls in (
        throttling.SimpleRateThrottle,
        throttling.ScopedRateThrottle,
        throttling.UserRateThrottle,
        throttling.AnonRateThrottle,
    ):
        monkeypatch.setattr(cls, "THROTTLE_RATES", rates)
    cache.clear()
    yield rates.update
    cache.clear()
