"""Checks that need no test host: ansible-lint, --syntax-check, docker-compose config."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import REPO, _find_playbook

# Part of the deployment suite (tests/ansible/run.sh); `-m "not deploy"` skips it.
pytestmark = pytest.mark.deploy


def test_ansible_lint_production_and_syntax_check():
    playbook = _find_playbook()
    if playbook is None or not (Path(playbook).parent / "ansible-lint").exists():
        pytest.skip(
            "ansible-lint not installed beside ansible-playbook (pip install -r ansible/requirements.txt)"
        )
    env = dict(os.environ, ANSIBLE_VENV=str(Path(playbook).parent.parent))
    proc = subprocess.run(
        [str(REPO / "tests/ansible/lint.sh")], capture_output=True, text=True, env=env, timeout=600
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-5000:]
    assert out.count("syntax-check ok:") == 7
    assert "Profile 'production' was required, and it passed" in out


def test_docker_compose_file_is_valid():
    if shutil.which("docker-compose") is None:
        pytest.skip("Debian's docker-compose package is not installed (apt-get install docker-compose)")
    env = dict(os.environ, SECRET_KEY="x" * 40, POSTGRES_PASSWORD="p" * 20, REDIS_PASSWORD="r" * 20)
    proc = subprocess.run(
        ["docker-compose", "config", "-q"], cwd=REPO, capture_output=True, text=True, env=env
    )
    assert proc.returncode == 0, proc.stderr
    services = subprocess.run(
        ["docker-compose", "config", "--services"],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout.split()
    # The moderation second stage's worker runs by default (no profile to name).
    assert {"db", "redis", "web", "worker", "worker-deep", "beat", "nginx"} <= set(services)
    # The same settings variables as the playbooks' environment file.
    config = subprocess.run(
        ["docker-compose", "config"], cwd=REPO, capture_output=True, text=True, env=env, check=True
    ).stdout
    for var in (
        "DATABASE_URL",
        "CELERY_BROKER_URL",
        "REDIS_URL",
        "SECRET_KEY",
        "ALLOWED_HOSTS",
        "CSRF_TRUSTED_ORIGINS",
        "STATIC_ROOT",
        "MEDIA_ROOT",
        "SECURE_SSL_REDIRECT",
        "HOLDFAST_READ_ONLY",
    ):
        assert var in config, var
    assert "HOLDFAST_MODERATION_DEEP: 'true'" in config or 'HOLDFAST_MODERATION_DEEP: "true"' in config
    # A missing secret is named.
    env.pop("SECRET_KEY")
    proc = subprocess.run(
        ["docker-compose", "config", "-q"], cwd=REPO, capture_output=True, text=True, env=env
    )
    assert proc.returncode != 0 and "SECRET_KEY" in proc.stderr
