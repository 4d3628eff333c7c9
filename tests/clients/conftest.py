"""Real Mastodon clients (Mastodon.py, toot) against a real gunicorn serving Holdfast.

The server runs on its own SQLite file, migrated once per session: the clients create
everything they use through the API itself (an app, accounts via the app's token), so the
tests need no shared database with pytest and run the same in both CI passes.
"""

import html
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests

from tests import gunicorn_server

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "a long client passphrase"


@dataclass
class Holdfast:
    url: str
    process: subprocess.Popen
    log: Path
    env: dict

    def manage(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        return done.stdout


@pytest.fixture(scope="session")
def holdfast(tmp_path_factory) -> Holdfast:
    """gunicorn (2 workers) on a freshly migrated SQLite database, tasks run in-process."""
    base = tmp_path_factory.mktemp("holdfast-clients")
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("CELERY_BROKER_URL", "REDIS_URL")},
        "DJANGO_SETTINGS_MODULE": "microblog.settings",
        "DATABASE_URL": f"sqlite:///{base / 'db.sqlite3'}",
        "SECRET_KEY": "client-test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
        "MEDIA_ROOT": str(base / "media"),
        "STATIC_ROOT": str(base / "static"),
        "WHITENOISE_USE_FINDERS": "true",
        "HOLDFAST_SERVE_MEDIA": "true",
        "THROTTLE_POSTING": "1000000/min",
        "THROTTLE_SIGNUP": "1000000/min",
        "THROTTLE_LOGIN": "1000000/min",
    }
    for command in ("migrate", "collectstatic"):  # production static storage needs its manifest
        gunicorn_server.manage(env, command, "--noinput", "-v0")
    log = base / "gunicorn.log"
    try:
        url, process = gunicorn_server.start(env, log)
    except RuntimeError as exc:
        pytest.fail(str(exc))
    server = Holdfast(url, process, log, env)
    yield server
    gunicorn_server.stop(process)
    server_errors = [line for line in log.read_text().splitlines() if '"status_code": 500' in line]
    assert not server_errors, server_errors[:3]


class Browser:
    """A person's web session: logs in with the site's form and answers the authorize page."""

    def __init__(self, base: str, username: str, password: str = PASSWORD) -> None:
        self.base = base
        self.session = requests.Session()
        page = self.session.get(f"{base}/accounts/login/", timeout=10)
        response = self.session.post(
            f"{base}/accounts/login/",
            data={"username": username, "password": password, "csrfmiddlewaretoken": _csrf(page.text)},
            headers={"Referer": f"{base}/accounts/login/"},
            allow_redirects=False,
            timeout=10,
        )
        assert response.status_code == 302, f"login failed for {username}: {response.status_code}"

    def authorize(self, url: str, *, approve: bool = True) -> requests.Response:
        """Open the authorize page an app sent us to and press Authorise (or Deny)."""
        page = self.session.get(url, timeout=10)
        assert page.status_code == 200, page.text[:500]
        form = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
        form = {name: html.unescape(value) for name, value in form.items()}
        if approve:
            form["allow"] = "on"
        return self.session.post(
            urljoin(self.base, urlsplit(url).path),
            data=form,
            headers={"Referer": url},
            allow_redirects=False,
            timeout=10,
        )

    def code_for(self, url: str) -> str:
        """The authorization code, from the redirect or from the out-of-band page."""
        response = self.authorize(url)
        if response.status_code == 302:
            return parse_qs(urlsplit(response.headers["Location"]).query)["code"][0]
        found = re.search(r'<code id="authorization-code">([^<]+)</code>', response.text)
        assert found, response.text[:500]
        return found.group(1)


def _csrf(text: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', text).group(1)


def sign_up(base: str, username: str) -> None:
    """An account made through the web sign-up form, as a person would make it."""
    session = requests.Session()
    page = session.get(f"{base}/accounts/signup/", timeout=10)
    response = session.post(
        f"{base}/accounts/signup/",
        data={
            "username": username,
            "password": PASSWORD,
            "csrfmiddlewaretoken": _csrf(page.text),
        },
        headers={"Referer": f"{base}/accounts/signup/"},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302, response.text[:1000]
