"""Fixtures for the deployment tests: real throwaway Debian 12 hosts.

Hosts come from the repo's own copy of `testhost` (systemd-nspawn + network
namespaces; needs root). Every host a test brings up is torn down when the
session ends, also when a test fails or is interrupted.

Environment:
  ANSIBLE_PLAYBOOK   ansible-playbook to use (default: .venv-ansible/bin, then PATH)
  TESTHOST_DIR       testhost state (default /var/tmp/holdfast-testhosts)
  HOLDFAST_TEST_KEEP_HOSTS=1   keep hosts after the run (debugging only)
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
ANSIBLE_DIR = REPO / "ansible"
TESTHOST = HERE / "testhost"
SSH_OPTS = [
    "-o",
    "StrictHostKeyChecking=no",
    "-o",
    "UserKnownHostsFile=/dev/null",
    "-o",
    "LogLevel=ERROR",
    "-o",
    "ConnectTimeout=5",
]
TIMINGS: list[tuple[str, float, int]] = []

SECRETS = {
    "holdfast_secret_key": "test-secret-key-0123456789abcdefghijklmnop",
    "holdfast_db_password": "dbpass-0123456789abc",
    "holdfast_redis_password": "redispass-0123456789",
    "holdfast_backup_password": "backuppass-0123456789",
}


def _find_playbook() -> str | None:
    cand = os.environ.get("ANSIBLE_PLAYBOOK")
    if cand:
        return cand
    venv = REPO / ".venv-ansible" / "bin" / "ansible-playbook"
    if venv.exists():
        return str(venv)
    return shutil.which("ansible-playbook")


def _why_not() -> str | None:
    if os.geteuid() != 0:
        return "deployment tests need root (testhost boots systemd-nspawn hosts)"
    if not Path("/proc/self/ns/net").exists() or shutil.which("ip") is None:
        return "this machine lacks network namespaces (ip netns)"
    probe = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True)
    if probe.returncode != 0:
        return f"network namespaces unavailable: {probe.stderr.strip()}"
    if _find_playbook() is None:
        return (
            "ansible-playbook not found: run `python3 -m venv .venv-ansible && "
            ".venv-ansible/bin/pip install -r ansible/requirements.txt` or set ANSIBLE_PLAYBOOK"
        )
    return None


class Hosts:
    """Bring test hosts up; remember them so that teardown removes every one."""

    def __init__(self) -> None:
        self.up_hosts: dict[str, str] = {}
        self.key = ""

    def _testhost(self, *args: str, check: bool = True, timeout: int = 180) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(TESTHOST), *args], capture_output=True, text=True, check=check, timeout=timeout
        )

    def base(self) -> None:
        self._testhost("base", timeout=900)
        self.key = self._testhost("key").stdout.strip()

    def up(self, name: str, ip: str) -> str:
        state = Path(os.environ.get("TESTHOST_DIR", "/var/tmp/holdfast-testhosts"))
        if (state / "hosts" / name).exists():  # left over from an interrupted run
            self._testhost("down", name, check=False)
        self.up_hosts[name] = ip
        self._testhost("up", name, ip)
        return ip

    def down(self, name: str) -> None:
        if self.up_hosts.pop(name, None) is not None:
            self._testhost("down", name, check=False)

    def down_all(self) -> None:
        for name in list(self.up_hosts):
            self.down(name)

    def ssh(
        self, name: str, command: str, check: bool = True, input: str | None = None, timeout: int = 600
    ) -> subprocess.CompletedProcess:
        proc = subprocess.run(
            ["ssh", "-i", self.key, *SSH_OPTS, f"root@{self.up_hosts[name]}", command],
            capture_output=True,
            text=True,
            input=input,
            timeout=timeout,
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"ssh {name} {command!r} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
            )
        return proc

    def inventory(
        self, path: Path, layout: dict[str, list[str]], domain: str, extra: dict | None = None
    ) -> Path:
        hosts = {n: {"ansible_host": ip} for n, ip in self.up_hosts.items()}
        inv: dict = {
            "all": {
                "vars": {
                    "ansible_user": "root",
                    "ansible_ssh_private_key_file": self.key,
                    "ansible_ssh_common_args": " ".join(SSH_OPTS),
                    "holdfast_domain": domain,
                    # The controller here reaches only its own package mirror, which already
                    # holds torch's CPU build; a real one uses PyTorch's CPU index (the default).
                    "holdfast_torch_index_url": "",
                    **SECRETS,
                    **(extra or {}),
                },
                "children": {},
            }
        }
        for group, names in layout.items():
            inv["all"]["children"][group] = {"hosts": {n: hosts[n] for n in names}}
        path.write_text(json.dumps(inv, indent=2))  # JSON is YAML
        return path


@pytest.fixture(scope="session")
def testhosts():
    reason = _why_not()
    if reason:
        pytest.skip(reason)
    hosts = Hosts()
    previous = signal.getsignal(signal.SIGTERM)

    def _interrupted(*_):  # CI timeouts send SIGTERM: still run the teardown below
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _interrupted)
    try:
        hosts.base()
        yield hosts
    finally:
        if os.environ.get("HOLDFAST_TEST_KEEP_HOSTS") != "1":
            hosts.down_all()
        signal.signal(signal.SIGTERM, previous)


@pytest.fixture(scope="session")
def release_version() -> str:
    """One release for the whole session: re-runs of site.yml ship the same build.

    HOLDFAST_TEST_RELEASE names a release already built in ansible/.build/ (to
    test the playbooks against a known-good build while the app changes)."""
    return os.environ.get("HOLDFAST_TEST_RELEASE") or "t" + time.strftime("%Y%m%d%H%M%S")


class Runner:
    def __init__(self, playbook_bin: str, logdir: Path) -> None:
        self.bin = playbook_bin
        self.logdir = logdir

    def run(
        self, playbook: str, inventory: Path, *extra: str, label: str | None = None, timeout: int = 1500
    ) -> tuple[int, str, float]:
        env = dict(
            os.environ,
            ANSIBLE_CONFIG=str(ANSIBLE_DIR / "ansible.cfg"),
            ANSIBLE_NOCOLOR="1",
            ANSIBLE_FORCE_COLOR="0",
            PYTHONUNBUFFERED="1",
        )
        env["PATH"] = str(Path(self.bin).parent) + os.pathsep + env.get("PATH", "")
        start = time.monotonic()
        proc = subprocess.run(
            [self.bin, "-i", str(inventory), playbook, *extra],
            cwd=ANSIBLE_DIR,
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout,
        )
        took = time.monotonic() - start
        out = proc.stdout + proc.stderr
        name = label or Path(playbook).stem
        TIMINGS.append((name, took, proc.returncode))
        (self.logdir / f"{len(TIMINGS):02d}-{name}.log").write_text(out)
        return proc.returncode, out, took


@pytest.fixture(scope="session")
def ansible(tmp_path_factory, testhosts) -> Runner:
    logdir = Path(os.environ.get("HOLDFAST_ANSIBLE_LOGDIR", tmp_path_factory.mktemp("ansible-logs")))
    logdir.mkdir(parents=True, exist_ok=True)
    return Runner(_find_playbook(), logdir)


def recap(output: str) -> dict[str, dict[str, int]]:
    """PLAY RECAP lines -> {host: {ok, changed, unreachable, failed, ...}}."""
    result = {}
    for m in re.finditer(r"^(\S+)\s+:\s+((?:\w+=\d+\s*)+)$", output, re.M):
        result[m.group(1)] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(2))}
    return result


def tagged_json(output: str, tag: str) -> dict:
    """The JSON object printed after TAG in a debug message (may be wrapped over lines)."""
    m = re.search(re.escape(tag) + r"\s+(\{.*?\})'?\n(?:\S|\n)", output, re.S)
    assert m, f"{tag} not found in the playbook output"
    return json.loads(re.sub(r"\s*\n\s*", " ", m.group(1)))


def pytest_terminal_summary(terminalreporter):
    if TIMINGS:
        terminalreporter.section("ansible playbook durations")
        for name, took, rc in TIMINGS:
            terminalreporter.write_line(f"{name:<40} {took:7.1f} s  rc={rc}")
