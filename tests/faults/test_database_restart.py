"""PostgreSQL goes away while people post and read: they get a clear 503, the site comes
back by itself, and every post that got a 2xx is still there."""

import subprocess
import threading
import time
from pathlib import Path

from django.db import connection

from microblog.accounts.models import User
from microblog.accounts.services import create_access_token
from microblog.posts.models import Post

from .conftest import post_and_read_load, request, root_and


def cluster() -> list[str]:
    version = sorted(p.name for p in Path("/etc/postgresql").iterdir())[0]
    return [version, "main"]


def pg_ctl(action: str) -> None:
    subprocess.run(
        [
            "pg_ctlcluster",
            "--skip-systemctl-redirect",
            *cluster(),
            action,
            *(["-m", "fast"] if action == "stop" else []),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )


def test_database_outage_gives_503_and_loses_no_accepted_post(gunicorn):
    root_and("pg_ctlcluster")
    tokens = []
    for i in range(4):
        user = User.objects.create_user(f"writer{i}", password="a long passphrase")
        tokens.append(create_access_token(user, "fault")[1])
    server = gunicorn()
    stop_event = threading.Event()
    load = post_and_read_load(server, tokens, stop_event, "db-outage")
    time.sleep(2)
    connection.close()
    pg_ctl("stop")
    try:
        time.sleep(3)
        status, body, headers = request(server.url + "/api/v1/timelines/home", tokens[0])
        assert status == 503 and headers.get("Retry-After"), (status, body)
        health, _, _ = request(server.url + "/healthz", tokens[0])
        assert health == 503
    finally:
        pg_ctl("start")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and request(server.url + "/healthz", tokens[0])[0] != 200:
        time.sleep(0.5)
    time.sleep(3)  # the site is back: let the load run on it a little
    stop_event.set()
    for thread in load.threads:
        thread.join(timeout=30)

    assert load.bad == [], f"server errors other than 503: {load.bad[:5]}"
    assert load.statuses[503] + load.statuses["read 503"] > 0, load.statuses
    assert request(server.url + "/healthz", tokens[0])[0] == 200
    connection.close()
    stored = set(Post.objects.filter(pk__in=load.created_ids).values_list("pk", flat=True))
    assert stored == set(load.created_ids), "a post answered 200 is missing"
    assert len(load.created_ids) > 10, load.statuses
