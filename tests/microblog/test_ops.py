import os
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from microblog.accounts.models import Follow, User
from microblog.posts.models import FeedEntry, Like, Post


def test_healthz_reports_database_and_broker(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"


def test_read_only_mode_refuses_writes_with_503(client, alice, settings):
    settings.HOLDFAST_READ_ONLY = True
    client.force_login(alice)
    assert client.get("/public/").status_code == 200
    response = client.post("/", {"text": "hi"})
    assert response.status_code == 503 and response["Retry-After"]
    refused = client.post("/api/v1/statuses", {"status": "x"}).json()
    assert refused["error"].startswith("This site is in maintenance")
    assert client.post("/api/holdfast/v1/tokens", {"name": "x"}).json()["detail"].startswith("This site")


def test_seed_is_deterministic_and_consistent(db):
    call_command("seed", users=20, posts=200, seed=7, follows=5, verbosity=0)
    texts = list(Post.objects.order_by("id").values_list("text", flat=True))
    assert len(texts) == 200
    assert Follow.objects.exists() and FeedEntry.objects.exists()
    user = User.objects.get(username="s7_0")
    assert user.posts_count == Post.objects.filter(author=user).count()
    reposts = Post.objects.filter(repost_of__isnull=False)
    assert reposts.exists() and Like.objects.exists()
    assert not reposts.filter(text__gt="").exists()
    assert not Post.objects.filter(repost_of__in=reposts).exists()  # reposts share originals
    for post in Post.objects.filter(repost_of__isnull=True)[:50]:
        assert post.likes_count == Like.objects.filter(post=post).count()
        assert post.reposts_count == reposts.filter(repost_of=post).count()
    Post.objects.all().delete()
    User.objects.filter(username__startswith="s7_").delete()
    call_command("seed", users=20, posts=200, seed=7, follows=5, verbosity=0)
    assert list(Post.objects.order_by("id").values_list("text", flat=True)) == texts


def test_seed_rejects_bad_arguments(db):
    with pytest.raises(CommandError):
        call_command("seed", users=1, posts=10, verbosity=0)
    with pytest.raises(CommandError):
        call_command("seed", users=10, posts=10, follows=50, verbosity=0)


def test_create_access_token_command(alice, capsys):
    call_command("create_access_token", "ALICE")
    assert capsys.readouterr().out.startswith("hf_")
    with pytest.raises(CommandError, match="No account @ghost"):
        call_command("create_access_token", "ghost")


def test_cli_errors_are_one_line_not_tracebacks(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path}/x.db",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "seed", "--users", "1"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "--users must be between" in result.stderr


def test_production_settings_pass_check_deploy():
    env = {
        "PATH": os.environ["PATH"],
        "SECRET_KEY": "a-production-secret-key-with-enough-length-and-entropy-0123456789-xyz",
        "ALLOWED_HOSTS": "holdfast.example",
        "DATABASE_URL": "sqlite:////tmp/holdfast-check-deploy.db",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


def test_missing_secret_key_in_production_is_a_clear_error():
    env = {"PATH": os.environ["PATH"], "DATABASE_URL": "sqlite:////tmp/x.db"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], capture_output=True, text=True, env=env, check=False
    )
    assert result.returncode != 0
    assert "SECRET_KEY is required" in result.stderr


def test_seed_ends_with_planner_statistics(db):
    """With autovacuum off, a seeded database had no statistics and its timelines ran 3 to 6
    times slower until ANALYZE ran: seed runs it."""
    from django.db import connection

    call_command("seed", users=10, posts=50, seed=3, follows=3, verbosity=0)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT count(*) FROM pg_stats WHERE tablename = 'posts_post'")
        else:
            cursor.execute("SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'posts_post'")
        assert cursor.fetchone()[0] > 0
