#!/usr/bin/env python3
"""Benchmark move.yml: seed a community on test host A, move it to a fresh host B.

    sudo .venv-ansible/bin/python bench/move_host.py [--posts 100000] [--users 2000] [--media 2000]

Boots two throwaway Debian 12 hosts with tests/ansible/testhost (torn down at
the end, whatever happens), deploys A with site.yml, seeds it with
`manage.py seed` plus generated images, runs move.yml A -> B and prints the
downtime (writes refused), the total time, the data gap and the sizes, then
extrapolates linearly to a 1M-post community: the per-task timings are split
into work that grows with the data (backup, copy, restore, checksums, media
sync) and fixed work (provisioning B, restarts), and only the first part is
scaled.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.ansible.conftest import Hosts, Runner, _find_playbook, _why_not, tagged_json  # noqa: E402

A, A_IP, B, B_IP = "bencha", "10.213.0.41", "benchb", "10.213.0.42"
GROUPS = ["web", "worker", "db", "redis"]
# Task-name fragments whose duration grows with the amount of data.
DATA_TASKS = (
    "Run pgBackRest",
    "Copy the repositories",
    "Restore as a standby",
    "Start the standby",
    "Wait until the standby",
    "Count and checksum",
    "Copy the media",
    "Wait until it is archived",
    "Backups on the destination",
    "Take the first full base backup",
)
# Pessimistic bound only: these run both before and inside the write-refused
# window (profile_tasks cannot tell them apart). Inside the window they handle
# only the WAL written since the standby caught up and a media rsync delta, so
# the expected downtime does not grow with the size of the community.
DOWNTIME_DATA_TASKS = ("Copy the repositories", "Wait until the standby", "Wait until it is archived")


def task_times(output: str) -> list[tuple[str, float]]:
    """profile_tasks recap lines: 'role : Task name ---- 12.34s'."""
    return [
        (m.group(1).strip(), float(m.group(2)))
        for m in re.finditer(r"^(.+?) -{3,} (\d+\.\d+)s$", output, re.M)
    ]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--posts", type=int, default=100_000)
    ap.add_argument("--users", type=int, default=2_000)
    ap.add_argument("--media", type=int, default=2_000)
    ap.add_argument("--target-posts", type=int, default=1_000_000)
    ap.add_argument("--json", help="also write the results to this file")
    args = ap.parse_args()

    reason = _why_not()
    if reason:
        print(f"bench: skipped: {reason}", file=sys.stderr)
        return 2
    work = REPO / "bench" / "out"
    work.mkdir(parents=True, exist_ok=True)
    hosts = Hosts()
    runner = Runner(_find_playbook(), work)
    version = os.environ.get("HOLDFAST_TEST_RELEASE") or "bench" + time.strftime("%Y%m%d%H%M%S")
    result: dict = {"posts_seeded": args.posts, "users_seeded": args.users, "media_seeded": args.media}
    try:
        hosts.base()
        hosts.up(A, A_IP)
        inv_a = hosts.inventory(
            work / "inv-a.json", {g: [A] for g in GROUPS}, A_IP, {"holdfast_version": version}
        )
        rc, out, took = runner.run("site.yml", inv_a, label="bench-site-a")
        if rc:
            print(out[-4000:], file=sys.stderr)
            return 1
        result["site_a_s"] = round(took, 1)

        t = time.monotonic()
        hosts.ssh(
            A,
            f"holdfast-manage seed --users {args.users} --posts {args.posts} --seed 5 --follows 20 -v 0",
            timeout=3600,
        )
        hosts.ssh(A, "cat > /tmp/seed_media.py", input=(REPO / "tests/ansible/seed_media.py").read_text())
        hosts.ssh(
            A,
            f"HOLDFAST_MEDIA_COUNT={args.media} HOLDFAST_MEDIA_SEED=5 holdfast-manage shell "
            "-c 'exec(open(\"/tmp/seed_media.py\").read())'",
            timeout=3600,
        )
        result["seed_s"] = round(time.monotonic() - t, 1)
        size = hosts.ssh(
            A,
            "runuser -u postgres -- psql -X -At -d holdfast -c "
            "\"SELECT pg_database_size('holdfast')\"; du -sb /srv/holdfast/media | cut -f1",
        ).stdout.split()
        result["db_bytes"], result["media_bytes"] = int(size[0]), int(size[1])

        hosts.up(B, B_IP)
        inv = hosts.inventory(
            work / "inv-move.json",
            {**{g: [B] for g in GROUPS}, "move_from": [A]},
            B_IP,
            {"holdfast_version": version},
        )
        os.environ["ANSIBLE_CALLBACKS_ENABLED"] = "ansible.posix.profile_tasks"
        os.environ["PROFILE_TASKS_TASK_OUTPUT_LIMIT"] = "200"
        rc, out, took = runner.run("move.yml", inv, label="bench-move")
        if rc:
            print(out[-6000:], file=sys.stderr)
            return 1
        report = tagged_json(out, "HOLDFAST_MOVE")
        result.update({"move": report, "move_wall_s": round(took, 1)})

        times = task_times(out)
        data_total = sum(s for n, s in times if any(k in n for k in DATA_TASKS))
        data_down = sum(s for n, s in times if any(k in n for k in DOWNTIME_DATA_TASKS))
        factor = args.target_posts / max(args.posts, 1)
        result["extrapolated"] = {
            "posts": args.target_posts,
            "total_s": round(took + data_total * (factor - 1), 1),
            "downtime_s": report["downtime_s"],
            "downtime_s_pessimistic": round(report["downtime_s"] + data_down * (factor - 1), 1),
            "data_dependent_s_measured": round(data_total, 1),
        }
    finally:
        hosts.down_all()

    m = result["move"]
    e = result["extrapolated"]
    print(
        f"HOLDFAST MOVE BENCH: {m['posts']} posts, {m['users']} users, {m['media_files']} media files "
        f"(DB {result['db_bytes'] / 2**20:.0f} MiB, media {result['media_bytes'] / 2**20:.0f} MiB)"
    )
    print(f"  downtime (writes refused): {m['downtime_s']:.1f} s")
    print(f"  total move time:           {result['move_wall_s']:.1f} s (report {m['total_s']:.1f} s)")
    print(
        f"  data gap:                  {m['data_gap_posts']} posts, {m['data_gap_users']} users, "
        f"{m['data_gap_media_files']} media files; checksums match: {m['checksums_match']}"
    )
    print(
        f"  extrapolated to {e['posts']:,} posts: total ~{e['total_s']:.0f} s "
        f"({e['total_s'] / 60:.1f} min), downtime ~{e['downtime_s']:.0f} s "
        f"(pessimistic bound {e['downtime_s_pessimistic']:.0f} s; target: under 600 s, no post lost)"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
