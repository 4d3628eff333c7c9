"""Holdfast settings, read from the environment (django-environ).

With no environment at all the site runs on a SQLite file with Celery tasks run
eagerly, so ``make run`` works on a bare machine. Production sets DATABASE_URL,
CELERY_BROKER_URL, SECRET_KEY and ALLOWED_HOSTS (see docs/configuration.md).
"""

from pathlib import Path

import environ
import orjson
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DEBUG", default=False)
_DEV_SECRET = "insecure-development-key-only-for-debug-and-tests"  # noqa: S105
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if DEBUG or env.bool("HOLDFAST_ALLOW_INSECURE_KEY", default=False):
        SECRET_KEY = _DEV_SECRET
    else:
        raise ImproperlyConfigured(
            "SECRET_KEY is required when DEBUG is off: set SECRET_KEY in the environment."
        )

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django_prometheus",
    "axes",
    "csp",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "corsheaders",
    "oauth2_provider",
    "microblog.accounts",
    "microblog.posts",
    "microblog.notifications",
    "microblog.web",
    "microblog.api",
    "microblog.mastodon",
    "moderation",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "microblog.observability.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Before CommonMiddleware, so preflight requests are answered (and a redirect carries CORS).
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "microblog.middleware.DatabaseUnavailableMiddleware",
    "microblog.middleware.ReadOnlyModeMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "microblog.middleware.ContentSecurityPolicyMiddleware",
    "axes.middleware.AxesMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

AUTHENTICATION_BACKENDS = [
    # django-axes first: it refuses logins for a while after repeated failures.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.25)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "microblog.views.login_locked_out"
AXES_IPWARE_PROXY_COUNT = env.int("NUM_PROXIES", default=0)

# Only this site's own scripts, styles and images; no inline code, no framing.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
HOLDFAST_METRICS_TOKEN = env.str("HOLDFAST_METRICS_TOKEN", default="")
HOLDFAST_READY_MAX_BACKLOG = env.int("HOLDFAST_READY_MAX_BACKLOG", default=1000)

ROOT_URLCONF = "microblog.urls"
WSGI_APPLICATION = "microblog.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "microblog.web.context_processors.site",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # The same backend with a health check that needs no round trip and timestamps
    # parsed in C (microblog/db/postgresql/base.py).
    DATABASES["default"]["ENGINE"] = "microblog.db.postgresql"
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the dev server read while a write is in flight; the timeout rides out
    # short write locks instead of failing with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "init_command": "PRAGMA journal_mode=WAL;"}
    )
    DATABASES["default"]["CONN_MAX_AGE"] = 0
elif env.bool("DATABASE_PREPARED_STATEMENTS", default=True):
    # Server-side parameters and prepared statements: PostgreSQL plans a repeated query
    # once per connection instead of on every request (planning the home feed query took
    # several times longer than running it). Turn off behind a transaction-pooling
    # PgBouncer, which cannot keep prepared statements.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"server_side_binding": True, "prepare_threshold": env.int("DATABASE_PREPARE_THRESHOLD", default=2)}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

_redis_url = env.str("REDIS_URL", default="")
CACHES = {
    "default": (
        {
            "BACKEND": "microblog.cache.ResilientRedisCache",
            "LOCATION": _redis_url,
            # Short timeouts: a missing cache must cost milliseconds, not the request.
            "OPTIONS": {"socket_connect_timeout": 0.3, "socket_timeout": 0.5},
        }
        if _redis_url
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "public"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "var" / "static")))
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "var" / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if not DEBUG
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# Tests and the dev server run without collectstatic; whitenoise then serves from finders.
WHITENOISE_USE_FINDERS = DEBUG or env.bool("WHITENOISE_USE_FINDERS", default=False)
WHITENOISE_MANIFEST_STRICT = False

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="holdfast@localhost")

# Security: production-safe unless DEBUG is on.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

# Uploads: the limits the forms and API enforce, and the request size that answers 413.
HOLDFAST_MAX_IMAGE_BYTES = env.int("HOLDFAST_MAX_IMAGE_BYTES", default=8 * 1024 * 1024)
HOLDFAST_MAX_IMAGE_PIXELS = env.int("HOLDFAST_MAX_IMAGE_PIXELS", default=40_000_000)
HOLDFAST_MAX_ATTACHMENTS = 4
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
HOLDFAST_MAX_REQUEST_BYTES = env.int(
    "HOLDFAST_MAX_REQUEST_BYTES", default=HOLDFAST_MAX_ATTACHMENTS * HOLDFAST_MAX_IMAGE_BYTES + 65536
)

HOLDFAST_SERVE_MEDIA = env.bool("HOLDFAST_SERVE_MEDIA", default=False)
# "pre": others see a post once moderation allowed it; "post": at once, withdrawn if removed.
HOLDFAST_MODERATION_MODE = env.str("HOLDFAST_MODERATION_MODE", default="pre")
if HOLDFAST_MODERATION_MODE not in ("pre", "post"):
    raise ImproperlyConfigured("HOLDFAST_MODERATION_MODE must be 'pre' or 'post'.")
HOLDFAST_SITE_NAME = env.str("HOLDFAST_SITE_NAME", default="Holdfast")
HOLDFAST_POST_MAX_LENGTH = env.int("HOLDFAST_POST_MAX_LENGTH", default=500)
HOLDFAST_PAGE_SIZE = 20
# Home feeds keep this many newest entries per reader (as Mastodon does); older pages are
# computed from the follow graph at read time.
HOLDFAST_FEED_MAX = env.int("HOLDFAST_FEED_MAX", default=800)
# Maintenance mode (used by the move playbook): reads work, writes answer 503.
HOLDFAST_READ_ONLY = env.bool("HOLDFAST_READ_ONLY", default=False)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "microblog.api.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "microblog.api.errors.exception_handler",
    # Behind nginx, the client address is the last proxy's X-Forwarded-For entry.
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0) or None,
    "DEFAULT_THROTTLE_CLASSES": [
        # anon, user and the view's throttle_scope, counted together (see the module).
        "microblog.throttling.RateLimits",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("THROTTLE_ANON", default="300/min"),
        "user": env.str("THROTTLE_USER", default="3000/min"),
        "posting": env.str("THROTTLE_POSTING", default="60/min"),
        "signup": env.str("THROTTLE_SIGNUP", default="10/hour"),
        "login": env.str("THROTTLE_LOGIN", default="30/min"),
        "search": env.str("THROTTLE_SEARCH", default="60/min"),
        "reports": env.str("THROTTLE_REPORTS", default="30/hour"),
    },
    # orjson renders a page of posts about ten times faster than the json module.
    "DEFAULT_RENDERER_CLASSES": [
        "drf_orjson_renderer.renderers.ORJSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    # Times as DRF's own renderer writes them ("Z" for UTC); any dict key (ints too).
    "ORJSON_RENDERER_OPTIONS": (orjson.OPT_UTC_Z, orjson.OPT_NON_STR_KEYS),
}
# Mastodon-compatible OAuth 2 (django-oauth-toolkit): apps register themselves at /api/v1/apps.
# Scopes are Mastodon's: read, write, follow, push and their granular forms; see
# microblog/mastodon/scopes.py, which also checks them per endpoint.
from microblog.mastodon.scopes import SCOPE_DESCRIPTIONS  # noqa: E402

OAUTH2_PROVIDER = {
    "SCOPES": SCOPE_DESCRIPTIONS,
    "DEFAULT_SCOPES": ["read"],
    # Apps such as Ivory and Tusky never refresh: Mastodon's tokens do not expire, so
    # these last ten years unless revoked (Settings -> Authorised apps, or /oauth/revoke).
    "ACCESS_TOKEN_EXPIRE_SECONDS": env.int("OAUTH_ACCESS_TOKEN_SECONDS", default=10 * 365 * 24 * 3600),
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 600,
    # PKCE is honoured when an app sends it (S256 or plain) and required by none, as in Mastodon.
    "PKCE_REQUIRED": False,
    "OAUTH2_VALIDATOR_CLASS": "microblog.mastodon.oauth.MastodonOAuth2Validator",
    # Mobile apps come back through their own schemes (e.g. oauth2redirect://...); the
    # validator refuses the dangerous ones. toot's out-of-band code is shown on a page.
    "ALLOWED_REDIRECT_URI_SCHEMES": ["http", "https"],
    "REQUEST_APPROVAL_PROMPT": "force",
    # RFC 9700 (OAuth 2.0 security BCP) wherever Mastodon's apps allow it: tokens only as
    # hashes at rest, no implicit or password grant, PKCE only as S256, tokens only in the
    # Authorization header, `iss` in the authorization response, refresh replay revokes.
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
}
SILENCED_SYSTEM_CHECKS = [
    # Mastodon's apps send no PKCE (it is optional on Mastodon) and desktop apps come back
    # to a loopback http:// address (RFC 8252): both stay allowed, knowingly.
    "oauth2_provider.W008",
    "oauth2_provider.W010",
]
# django-oauth-toolkit's own models (named, as its migrations refer to these settings).
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL = "oauth2_provider.AccessToken"  # noqa: S105 - a model name
OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL = "oauth2_provider.RefreshToken"  # noqa: S105 - a model name
OAUTH2_PROVIDER_GRANT_MODEL = "oauth2_provider.Grant"
OAUTH2_PROVIDER_ID_TOKEN_MODEL = "oauth2_provider.IDToken"  # noqa: S105 - a model name
OAUTH2_PROVIDER_DEVICE_GRANT_MODEL = "oauth2_provider.DeviceGrant"
# Web clients on other origins (Elk, Phanpy) call the API and OAuth endpoints; they send a
# bearer token, never cookies, so any origin may read the answers.
CORS_ALLOW_ALL_ORIGINS = True
CORS_ALLOW_CREDENTIALS = False
CORS_URLS_REGEX = r"^/(api/|oauth/|\.well-known/|nodeinfo/).*$"
CORS_EXPOSE_HEADERS = ["Link", "X-RateLimit-Remaining", "Retry-After"]

SPECTACULAR_SETTINGS = {
    "TITLE": "Holdfast API",
    "DESCRIPTION": "The client API of a Holdfast community: Mastodon's client API at Mastodon's "
    "paths (/api/v1/..., /api/v2/...; OAuth 2 at /oauth/), and what only Holdfast has "
    "(personal tokens, moderation) under /api/holdfast/v1/.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "NotificationKindEnum": "microblog.notifications.models.NotificationKind",
        "VisibilityEnum": "microblog.posts.models.Visibility",
        "ModerationStateEnum": "microblog.posts.models.ModerationState",
        "AccountActionKindEnum": "moderation.models.AccountActionKind",
        "RuleKindEnum": "moderation.models.RuleKind",
        "CaseStatusEnum": "moderation.models.CaseStatus",
        "AppealStatusEnum": "moderation.models.AppealStatus",
        "ModerationCategoryEnum": "moderation.models.Category",
        "CaseOutcomeEnum": "moderation.models.Outcome",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "microblog.api.schema.add_error_responses",
    ],
}

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
# No broker configured: run tasks in-process so the embedded default needs no Redis.
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Publishing must fail fast when Redis is down: the sweeper re-queues later.
CELERY_BROKER_TRANSPORT_OPTIONS = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE: dict = {}

# --- Moderation (owned by the moderation app; see moderation/README or docs/moderation.md) ---
from moderation.conf import *  # noqa: E402,F403

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "microblog.observability.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s [%(request_id)s] %(name)s %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": env.str("LOG_FORMAT", default="plain" if DEBUG else "json"),
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
