"""Fault tests run the real stack: gunicorn serving the pytest PostgreSQL database, with
services stopped and processes killed underneath it. They need PostgreSQL and root."""

import json
import os
import shutil
import subprocess
import threading
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.db import connection

from tests import gunicorn_server

ROOT = Path(__file__).resolve().parents[2]


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/faults/" in str(item.fspath):
            item.add_marker(pytest.mark.faults)


@pytest.fixture
def postgres_only(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("fault tests need PostgreSQL (CI's second pass sets DATABASE_URL)")


def database_url() -> str:
    s = connection.settings_dict
    return f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    log: Path

    def worker_pids(self) -> list[int]:
        out = subprocess.run(
            ["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True, check=False
        )
        return [int(pid) for pid in out.stdout.split()]


def start_gunicorn(tmp_path: Path, **env_overrides: str) -> Server:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "microblog.settings",
        "DATABASE_URL": database_url(),
        "SECRET_KEY": "fault-test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "MEDIA_ROOT": str(tmp_path / "media"),
        "STATIC_ROOT": str(tmp_path / "static"),
        "WHITENOISE_USE_FINDERS": "true",
        "THROTTLE_POSTING": "1000000/min",
        "THROTTLE_USER": "1000000/min",
        "CONN_MAX_AGE": "60",
        **env_overrides,
    }
    env.pop("CELERY_BROKER_URL", None) if "CELERY_BROKER_URL" not in env_overrides else None
    # Production static storage answers from its manifest (the API's default avatar URL too).
    gunicorn_server.manage(env, "collectstatic", "--noinput", "-v0")
    log = tmp_path / "gunicorn.log"
    try:
        url, process = gunicorn_server.start(
            env, log, "--timeout", "30", "--graceful-timeout", "5", timeout=30)
    except RuntimeError as exc:
        pytest.fail(str(exc))
    return Server(url, process, log)


def stop(server: Server) -> None:
    gunicorn_server.stop(server.process)


@pytest.fixture
def gunicorn(tmp_path, postgres_only):
    servers: list[Server] = []

    def start(**env: str) -> Server:
        server = start_gunicorn(tmp_path, **env)
        servers.append(server)
        return server

    yield start
    for server in servers:
        stop(server)


@dataclass
class LoadResult:
    statuses: Counter = field(default_factory=Counter)
    created_ids: list[int] = field(default_factory=list)
    texts_sent: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    bad: list[tuple[int, str]] = field(default_factory=list)


def request(url: str, token: str, body: dict | None = None, timeout: float = 10) -> tuple[int, dict, dict]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method="POST" if body is not None else "GET")
    req.add_header("Authorization", f"Bearer {token}")
    req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"{}"), dict(response.headers)
    except urllib.error.HTTPError as exc:
        payload = exc.read()
        try:
            parsed = json.loads(payload or b"{}")
        except ValueError:
            parsed = {"raw": payload[:200].decode(errors="replace")}
        return exc.code, parsed, dict(exc.headers)


def post_and_read_load(
    server: Server, tokens: list[str], stop_event: threading.Event, label: str
) -> LoadResult:
    """Each thread alternates posting and reading its home timeline until told to stop."""
    result = LoadResult()
    lock = threading.Lock()

    def worker(n: int) -> None:
        i = 0
        while not stop_event.is_set():
            text = f"{label} {n}-{i}"
            i += 1
            try:
                status, body, headers = request(
                    server.url + "/api/v1/statuses", tokens[n % len(tokens)], {"status": text}
                )
                read_status, _, read_headers = request(
                    server.url + "/api/v1/timelines/home", tokens[n % len(tokens)]
                )
            except OSError as exc:  # connection reset by a killed worker: no answer, no claim
                with lock:
                    result.errors.append(repr(exc))
                    result.texts_sent.append(text)
                continue
            with lock:
                result.texts_sent.append(text)
                result.statuses[status] += 1
                result.statuses[f"read {read_status}"] += 1
                if status == 200:
                    result.created_ids.append(int(body["id"]))
                for code, hdrs in ((status, headers), (read_status, read_headers)):
                    if code >= 500 and not (code == 503 and "Retry-After" in hdrs):
                        result.bad.append((code, json.dumps(body)[:200]))

    threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(4)]
    for thread in threads:
        thread.start()
    result.threads = threads  # type: ignore[attr-defined]
    return result


def root_and(tool: str) -> None:
    if os.geteuid() != 0 or not shutil.which(tool):
        pytest.skip(f"needs root and {tool}")
