"""Settings for the test run: production settings with test-only secrets and fast hashing."""

import os
import tempfile

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-0123456789-not-for-any-real-site")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
os.environ.setdefault("WHITENOISE_USE_FINDERS", "true")

from microblog.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="holdfast-test-media-"))  # noqa: F405
STATIC_ROOT = Path(tempfile.mkdtemp(prefix="holdfast-test-static-"))  # noqa: F405
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405
# Unit tests run tasks in-process; tests marked `queue` start a real worker instead.
CELERY_TASK_ALWAYS_EAGER = True
HOLDFAST_SERVE_MEDIA = True
REST_FRAMEWORK = {
    **REST_FRAMEWORK,  # noqa: F405
    "DEFAULT_THROTTLE_RATES": {
        **REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],  # noqa: F405
        "anon": "100000/min",
    "login": "100000/min",
    "posting": "100000/min",
        "signup": "100000/min",
        "search": "100000/min",
    },
}
# Every test asks afresh which workers consume moderation_deep (no answer kept between tests).
HOLDFAST_MODERATION_DEEP_STATUS_TTL = 0.0
