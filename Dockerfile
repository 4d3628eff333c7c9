# Holdfast container image: one image for web (gunicorn), worker and beat.
# Settings come from the same environment variables as the Ansible deployment
# (DATABASE_URL, CELERY_BROKER_URL, REDIS_URL, SECRET_KEY, ALLOWED_HOSTS, ...).
#   docker build -t holdfast .        (see docker-compose.yml for the whole stack)
FROM python:3.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md manage.py ./
COPY microblog ./microblog
COPY moderation ./moderation
RUN pip wheel --wheel-dir /wheels . gunicorn

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 \
    DJANGO_SETTINGS_MODULE=microblog.settings \
    STATIC_ROOT=/srv/holdfast/static MEDIA_ROOT=/srv/holdfast/media \
    PATH=/srv/holdfast/venv/bin:$PATH
RUN groupadd --system holdfast && useradd --system --gid holdfast --home-dir /srv/holdfast --shell /usr/sbin/nologin holdfast
COPY --from=build /wheels /wheels
RUN python -m venv /srv/holdfast/venv \
    && /srv/holdfast/venv/bin/pip install --no-index --find-links /wheels holdfast gunicorn \
    && rm -rf /wheels
WORKDIR /srv/holdfast/app
COPY manage.py ./
# Static files are collected at build time (the key is only for this step).
RUN SECRET_KEY=collectstatic-only-not-a-secret python manage.py collectstatic --noinput -v0 \
    && mkdir -p /srv/holdfast/media && chown holdfast:holdfast /srv/holdfast/media
USER holdfast
EXPOSE 8000
VOLUME ["/srv/holdfast/media"]
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz').status != 200)" || exit 1
CMD ["gunicorn", "microblog.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--forwarded-allow-ips", "*", "--access-logfile", "-"]
