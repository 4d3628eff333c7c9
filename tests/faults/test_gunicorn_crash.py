"""A gunicorn worker killed mid-load: the master replaces it, nobody gets a 5xx, and every
accepted post is stored exactly once."""

import os
import signal
import threading
import time

from django.db import connection
from django.db.models import Count

from microblog.accounts.models import User
from microblog.accounts.services import create_access_token
from microblog.posts.models import Post

from .conftest import post_and_read_load, request


def test_killed_web_worker_loses_nothing_and_duplicates_nothing(gunicorn):
    tokens = []
    for i in range(4):
        user = User.objects.create_user(f"crash{i}", password="a long passphrase")
        tokens.append(create_access_token(user, "fault")[1])
    server = gunicorn()
    stop_event = threading.Event()
    load = post_and_read_load(server, tokens, stop_event, "crash")
    time.sleep(2)
    victims = server.worker_pids()
    assert victims, "gunicorn has no workers"
    os.kill(victims[0], signal.SIGKILL)
    time.sleep(4)
    assert server.process.poll() is None, "the gunicorn master died"
    after = request(server.url + "/api/v1/statuses", tokens[0], {"status": "after the crash"})
    stop_event.set()
    for thread in load.threads:
        thread.join(timeout=30)

    assert after[0] == 200
    assert load.bad == [], load.bad[:5]
    connection.close()
    assert set(Post.objects.filter(pk__in=load.created_ids).values_list("pk", flat=True)) == set(
        load.created_ids
    )
    duplicated = (
        Post.objects.filter(text__startswith="crash ").values("text").annotate(n=Count("id")).filter(n__gt=1)
    )
    assert not duplicated.exists(), list(duplicated[:5])
