"""The `toot` command-line client: logs in (its browser flow, with the out-of-band code
pasted back), posts, reads its timeline and notifications, as a person would."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import Browser, sign_up

TOOT = Path(sys.executable).with_name("toot")


@pytest.fixture
def toot(holdfast, tmp_path):
    if not TOOT.exists():
        pytest.skip("toot is not installed (it comes with the dev extra)")
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path), "NO_COLOR": "1", "COLUMNS": "200"}

    def run(*args: str, stdin: str | None = None) -> str:
        done = subprocess.run(
            [str(TOOT), *args], env=env, input=stdin, capture_output=True, text=True, timeout=60, check=False
        )
        assert done.returncode == 0, (args, done.stdout[-2000:], done.stderr[-2000:])
        return done.stdout

    run.env = env
    return run


def _login(holdfast, toot, username: str) -> None:
    """`toot login` prints the authorize URL and waits for the code: the person approves in
    their browser (here: the site's own forms), gets the code page and pastes the code."""
    process = subprocess.Popen(
        [str(TOOT), "login", "--instance", holdfast.url],
        env=toot.env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines = []
    for line in process.stdout:
        lines.append(line)
        if "/oauth/authorize" in line:
            break
    url = re.search(r"(http\S+/oauth/authorize\S+)", "".join(lines)).group(1)
    code = Browser(holdfast.url, username).code_for(url)
    out, _ = process.communicate(f"n\n{code}\n", timeout=60)
    assert process.returncode == 0, "".join(lines) + out
    assert "Successfully logged in" in out


def test_toot_logs_in_posts_and_reads(holdfast, toot):
    sign_up(holdfast.url, "toot_alice")
    sign_up(holdfast.url, "toot_bob")
    _login(holdfast, toot, "toot_bob")
    bob_id = json.loads(toot("whoami", "--json"))["id"]
    _login(holdfast, toot, "toot_alice")  # the active account from here on
    assert json.loads(toot("whoami", "--json"))["username"] == "toot_alice"
    toot("post", "Hello from toot #toot")
    home = toot("timelines", "home")
    assert "Hello from toot" in home
    assert "Hello from toot" in toot("timelines", "tag", "toot")
    toot("--as", f"toot_bob@{holdfast.url.split('//')[1]}", "follow", "toot_alice")
    notes = json.loads(toot("notifications", "--json"))
    assert [n["type"] for n in notes] == ["follow"] and notes[0]["account"]["id"] == bob_id
    assert "toot_bob" in toot("notifications")
