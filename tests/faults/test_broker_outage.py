"""Redis stopped under posting load: posting keeps working, nothing is lost, and moderation
catches up through the sweeper once Redis is back (real gunicorn, worker and beat)."""

import os
import shutil
import signal
import subprocess
import sys
import threading
import time

import pytest
from django.db import connection

from microblog.accounts.models import User
from microblog.accounts.services import create_access_token
from microblog.posts.models import ModerationState, Post
from tests.gunicorn_server import free_port

from .conftest import ROOT, database_url, post_and_read_load


def start_redis(port: int, workdir) -> subprocess.Popen:
    process = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(50):
        if (
            subprocess.run(
                ["redis-cli", "-p", str(port), "ping"], capture_output=True, check=False
            ).stdout.strip()
            == b"PONG"
        ):
            return process
        time.sleep(0.1)
    process.kill()
    pytest.fail("redis-server did not start")


def test_posting_survives_a_broker_outage_and_moderation_catches_up(gunicorn, tmp_path):
    if not shutil.which("redis-server"):
        pytest.skip("needs redis-server")
    port = free_port()
    broker = f"redis://127.0.0.1:{port}/0"
    redis = start_redis(port, tmp_path)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "microblog.settings",
        "DATABASE_URL": database_url(),
        "SECRET_KEY": "fault-test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "CELERY_BROKER_URL": broker,
        "HOLDFAST_MODERATION_SWEEP_AGE": "2",
        "HOLDFAST_MODERATION_SWEEP_INTERVAL": "2",
    }
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "microblog",
            "worker",
            "-B",
            "-Q",
            "moderation,default",
            "-c",
            "1",
            "--schedule",
            str(tmp_path / "beat-schedule"),
            "--loglevel",
            "WARNING",
        ],
        cwd=ROOT,
        env=env,
        stdout=(tmp_path / "worker.log").open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        tokens = []
        for i in range(4):
            user = User.objects.create_user(f"poster{i}", password="a long passphrase")
            tokens.append(create_access_token(user, "fault")[1])
        server = gunicorn(CELERY_BROKER_URL=broker, HOLDFAST_MODERATION_SWEEP_AGE="2")
        stop_event = threading.Event()
        load = post_and_read_load(server, tokens, stop_event, "broker-outage")
        time.sleep(2)
        redis.send_signal(signal.SIGTERM)
        redis.wait(timeout=10)
        outage_started = len(load.created_ids)
        time.sleep(4)
        accepted_during_outage = len(load.created_ids) - outage_started
        redis = start_redis(port, tmp_path)
        time.sleep(1)
        stop_event.set()
        for thread in load.threads:
            thread.join(timeout=30)

        assert load.bad == [], load.bad[:5]
        assert accepted_during_outage > 0, "posting stopped while Redis was down"
        connection.close()
        ids = set(load.created_ids)
        assert set(Post.objects.filter(pk__in=ids).values_list("pk", flat=True)) == ids
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            pending = Post.objects.filter(pk__in=ids, moderation_state=ModerationState.PENDING).count()
            if pending == 0:
                break
            time.sleep(1)
        assert pending == 0, (
            f"{pending} of {len(ids)} posts were never moderated:\n"
            + (tmp_path / "worker.log").read_text()[-3000:]
        )
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
        redis.kill()
