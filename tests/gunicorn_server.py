"""A real gunicorn serving Holdfast for the tests that need one (the Mastodon clients, the fault
drills): a free port, the start with a wait until ``/healthz`` answers, and the stop. Each suite
builds its own environment (database, throttles) and keeps its own fixture around this."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def manage(env: dict, *args: str) -> None:
    """``manage.py ARGS`` with the server's environment (migrate, collectstatic, ...)."""
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, timeout=300)


def start(env: dict, log: Path, *gunicorn_args: str, timeout: float = 60) -> tuple[str, subprocess.Popen]:
    """Start gunicorn (2 workers, its own process group) on a free port and wait until it serves;
    returns (base URL, process). Raises RuntimeError with the log's tail if it does not start."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "microblog.wsgi:application", "-b", f"127.0.0.1:{port}",
         "-w", "2", *gunicorn_args],
        cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url + "/healthz", timeout=2)
            return url, process
        except (OSError, urllib.error.HTTPError):
            if time.monotonic() > deadline or process.poll() is not None:
                stop(process)
                raise RuntimeError(f"gunicorn did not start:\n{log.read_text()[-3000:]}") from None
            time.sleep(0.2)


def stop(process: subprocess.Popen) -> None:
    """SIGTERM to the whole group, SIGKILL if it has not gone within 15 s."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
