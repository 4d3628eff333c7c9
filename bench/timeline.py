"""Home timeline and posting throughput on PostgreSQL under gunicorn, at two community sizes.

For each size: a database seeded with ``manage.py seed`` (or one kept from an earlier run
with ``--reuse``) and its own gunicorn on 127.0.0.1. Then rounds of bounded load from wrk (a
few seconds per measure) against
  - GET /api/v1/timelines/home   (personal tokens of 200 different readers, rotating)
  - GET /                        (the home page, with those readers' sessions)
  - POST /api/v1/statuses        (posting, each request a new post)
with the sizes taking turns in every round, the first size of one round going last in the
next (the page for three times as long, to have as many requests behind its p99). It
prints, per measure and size, the median req/s, p50 and p99 of the rounds and the CPU each
request cost the web workers and PostgreSQL, and the ratio of p99s between the sizes, taken
within each round.

    python bench/timeline.py                      # 100k and 1M posts (seeding 1M takes a while)
    python bench/timeline.py --sizes 100000,1000000 --reuse --rounds 6
"""

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
PORT = int(os.environ.get("BENCH_PORT", "8431"))
READERS = 200


def sh(*args: str, env: dict | None = None, quiet: bool = False) -> str:
    result = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"bench: {' '.join(args[:3])} failed:\n{result.stderr[-2000:]}")
    return result.stdout


def database_name(size: int) -> str:
    return f"holdfast_bench_{size}"


def bench_env(size: int, static_root: Path) -> dict:
    return {
        **os.environ,
        "DATABASE_URL": f"{PG}/{database_name(size)}",
        "STATIC_ROOT": str(static_root),
        "SECRET_KEY": "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
        "CELERY_BROKER_URL": os.environ.get("BENCH_BROKER", "redis://127.0.0.1:6379/15"),
        # The cache (throttle counters) in Redis, as the playbooks deploy it: a per-process
        # memory cache would make every rate limit check free.
        "REDIS_URL": os.environ.get("BENCH_CACHE", "redis://127.0.0.1:6379/14"),
        "THROTTLE_USER": "100000000/hour",
        "THROTTLE_POSTING": "100000000/hour",
        "LOG_LEVEL": "WARNING",
    }


def seeded_posts(size: int) -> int:
    result = subprocess.run(
        ["psql", f"{PG}/{database_name(size)}", "-Atc", "SELECT count(*) FROM posts_post"],
        capture_output=True,
        text=True,
        check=False,
    )
    return int(result.stdout.strip()) if result.returncode == 0 and result.stdout.strip() else -1


def fresh_database(env: dict, size: int, users: int) -> None:
    db = database_name(size)
    sh("psql", PG + "/postgres", "-q", "-c", f"DROP DATABASE IF EXISTS {db}", "-c", f"CREATE DATABASE {db}")
    sh(PYTHON, "manage.py", "migrate", "-v0", env=env)
    started = time.monotonic()
    subprocess.run(
        [PYTHON, "manage.py", "seed", "--users", str(users), "--posts", str(size), "--follows", "50"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    print(f"  seeded {size:,} posts in {time.monotonic() - started:.0f} s", flush=True)
    # A checkpoint now, so the gigabyte or so the seed wrote is not being flushed to disk
    # (and every post's commit waiting behind it) during the first rounds.
    sh("psql", f"{PG}/{database_name(size)}", "-q", "-c", "VACUUM ANALYZE", "-c", "CHECKPOINT")


# 200 accounts spread over the whole popularity range (every 25th), not only the most
# followed: each post fans out to its author's followers, so posting as the top accounts
# alone would measure the worst case, not a community.
CREDENTIALS = """
import json
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from microblog.accounts.models import User
from microblog.accounts.services import create_access_token
out = []
for user in User.objects.filter(username__startswith="s1_").order_by("id")[::25][:%d]:
    _, token = create_access_token(user, "bench")
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    out.append({"token": token, "session": session.session_key})
print(json.dumps(out))
"""


def credentials(env: dict) -> list[dict]:
    out = sh(PYTHON, "manage.py", "shell", "-c", CREDENTIALS % READERS, env=env)
    return json.loads(out.strip().splitlines()[-1])


def lua_script(creds: list[dict], kind: str, path: Path) -> None:
    items = ",".join(json.dumps(c["token" if kind != "page" else "session"]) for c in creds)
    if kind == "api":
        request = 'wrk.format("GET", "/api/v1/timelines/home", {["Authorization"] = "Bearer " .. v})'
    elif kind == "page":
        request = 'wrk.format("GET", "/", {["Cookie"] = "sessionid=" .. v})'
    else:
        request = (
            'wrk.format("POST", "/api/v1/statuses", {["Authorization"] = "Bearer " .. v, '
            '["Content-Type"] = "application/json"}, '
            "'{\"status\": \"bench post ' .. counter .. ' #bench about the harbour\"}')"
        )
    path.write_text(
        f"local creds = {{{items}}}\ncounter = 0\n"
        "request = function()\n  counter = counter + 1\n"
        "  local v = creds[(counter % #creds) + 1]\n"
        f"  return {request}\nend\n"
        "done = function(summary, latency, requests)\n"
        '  io.write(string.format("RESULT %d %d %.3f %.3f %d %d\\n", summary.requests, summary.duration,'
        " latency:percentile(50), latency:percentile(99), summary.errors.status, summary.errors.connect"
        " + summary.errors.read + summary.errors.write + summary.errors.timeout))\nend\n"
    )


def run_wrk(script: Path, duration: int, connections: int, port: int) -> dict:
    web_before, db_before = cpu_seconds("microblog.wsgi"), cpu_seconds("postgres")
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{duration}s",
            "--latency",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=duration + 60,
    ).stdout
    match = re.search(r"RESULT (\d+) (\d+) ([\d.]+) ([\d.]+) (\d+) (\d+)", out)
    requests, micros, p50, p99, status_errors, socket_errors = match.groups()
    web_cpu, db_cpu = cpu_seconds("microblog.wsgi") - web_before, cpu_seconds("postgres") - db_before
    return {
        "rps": int(requests) / (int(micros) / 1e6),
        "web_cpu_ms": 1000 * web_cpu / max(1, int(requests)),
        "db_cpu_ms": 1000 * db_cpu / max(1, int(requests)),
        "p50_ms": float(p50) / 1000,
        "p99_ms": float(p99) / 1000,
        "non_2xx": int(status_errors),
        "socket_errors": int(socket_errors),
    }


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(match: str) -> float:
    """User + system CPU of every process whose command line contains ``match``, with that
    of their children that have exited (PostgreSQL's autovacuum workers come and go).

    CPU per request is the figure that survives a noisy machine: req/s falls when another
    job takes a core, the CPU each request costs does not (much).
    """
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if match.encode() not in (entry / "cmdline").read_bytes():
                continue
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
    return total / CLOCK_TICKS


def start_gunicorn(env: dict, workers: int, port: int, threads: int = 1) -> subprocess.Popen:
    process = subprocess.Popen(
        [
            PYTHON,
            "-m",
            "gunicorn",
            "microblog.wsgi:application",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            str(workers),
            # More than one thread makes gunicorn use its gthread worker, as the role does.
            "--threads",
            str(threads),
            "--access-logfile",
            "/dev/null",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    sys.exit("bench: gunicorn did not start")


MEASURES = {"home API": "api", "home page": "page", "posting API": "post"}
# The page is served at a fifth of the API's rate; its p99 needs the longer run to rest on
# more than a handful of requests.
DURATION_FACTOR = {"page": 3}


def yardstick_ms() -> float:
    """CPU milliseconds of a fixed piece of pure-Python work (the best of three).

    The same code on the same two cores has served anywhere between 300 and 830 home
    timeline requests a second, with CPU per request (and this figure) moving with it:
    the host under these machines runs at different speeds at different times. Printed with
    the results, it tells a slow machine from slow code.
    """
    posts = [{"id": i, "text": f"post {i} about the #harbour", "likes": i * 3} for i in range(100)]
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        for _ in range(1000):
            rendered = [{key: str(value) for key, value in post.items()} for post in posts]
            ",".join(sorted(post["text"] for post in rendered))
        best = min(best, time.process_time() - started)
    return 1000 * best


def summarise(runs: list[dict]) -> dict:
    """One measure's rounds: the median of each figure, CPU per request over all of them."""
    requests = [r["rps"] * r["seconds"] for r in runs]
    return {
        "rps": statistics.median(r["rps"] for r in runs),
        "p50_ms": statistics.median(r["p50_ms"] for r in runs),
        "p99_ms": statistics.median(r["p99_ms"] for r in runs),
        "web_cpu_ms": sum(r["web_cpu_ms"] * n for r, n in zip(runs, requests, strict=True)) / sum(requests),
        "db_cpu_ms": sum(r["db_cpu_ms"] * n for r, n in zip(runs, requests, strict=True)) / sum(requests),
        "non_2xx": sum(r["non_2xx"] for r in runs),
        "socket_errors": sum(r["socket_errors"] for r in runs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="100000,1000000", help="comma-separated post counts")
    parser.add_argument("--users", type=int, default=5000)
    parser.add_argument("--duration", type=int, default=4, help="seconds per measure and round")
    parser.add_argument(
        "--rounds", type=int, default=4, help="rounds of every measure and size (even: both orders alike)"
    )
    parser.add_argument("--connections", type=int, default=8)
    # As many gunicorn workers as the Ansible role deploys: 1 per core + 1, at most 9.
    default_workers = min((os.cpu_count() or 1) + 1, 9)
    parser.add_argument("--workers", type=int, default=int(os.environ.get("BENCH_WORKERS", default_workers)))
    parser.add_argument("--threads", type=int, default=int(os.environ.get("BENCH_THREADS", 1)))
    parser.add_argument(
        "--reuse", action="store_true", help="keep a database already seeded to the size (skip seeding)"
    )
    parser.add_argument("--seed-only", action="store_true", help="seed the databases, measure nothing")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("bench: wrk is missing (apt-get install wrk)")
    try:
        sizes = [int(s) for s in args.sizes.split(",")]
    except ValueError:
        sys.exit("bench: --sizes must be comma-separated whole numbers")
    if args.duration < 1 or args.rounds < 1:
        sys.exit("bench: --duration and --rounds must be at least 1")
    print(f"Python {sys.version.split()[0]} at {sys.executable} ({os.path.realpath(sys.executable)})")
    workdir = Path(tempfile.mkdtemp(prefix="holdfast-bench-"))
    servers: dict[int, tuple[subprocess.Popen, int]] = {}
    try:
        for index, size in enumerate(sizes):
            print(f"== {size:,} posts ==", flush=True)
            env = bench_env(size, workdir / "static")
            if args.reuse and seeded_posts(size) >= size:
                sh(PYTHON, "manage.py", "migrate", "-v0", env=env)
                print(f"  reusing {database_name(size)}", flush=True)
            else:
                fresh_database(env, size, args.users)
            if args.seed_only:
                continue
            sh(PYTHON, "manage.py", "collectstatic", "--noinput", "-v0", env=env)
            creds = credentials(env)
            for kind in MEASURES.values():
                lua_script(creds, kind, workdir / f"{kind}-{size}.lua")
            port = PORT + index
            servers[size] = (start_gunicorn(env, args.workers, port, args.threads), port)
            run_wrk(workdir / f"api-{size}.lua", 2, args.connections, port)  # warm caches, connections
        if args.seed_only:
            return
        print(
            f"{args.workers} gunicorn workers of {args.threads} thread(s) per size; "
            f"{args.rounds} rounds of {args.duration} s per measure, the sizes taking turns; "
            f"load average before: {os.getloadavg()[0]:.2f}",
            flush=True,
        )
        # The sizes take turns within every round, so a machine that slows down part way
        # through slows both alike instead of skewing the ratio between them. The order
        # flips every round: the size that went first after the page's load had the worse
        # posting tail (in a fixed order, 1M / 100k was 0.62-0.85x in seven runs).
        runs: dict[tuple[int, str], list[dict]] = {}
        yardsticks = []
        for round_index in range(args.rounds):
            yardsticks.append(yardstick_ms())
            turns = list(servers.items())
            if round_index % 2:
                turns.reverse()
            for name, kind in MEASURES.items():
                for size, (_, port) in turns:
                    seconds = args.duration * DURATION_FACTOR.get(kind, 1)
                    run = run_wrk(workdir / f"{kind}-{size}.lua", seconds, args.connections, port)
                    runs.setdefault((size, name), []).append({**run, "seconds": seconds})
    finally:
        for server, _ in servers.values():
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
    results = {size: {name: summarise(runs[size, name]) for name in MEASURES} for size in sizes}
    print(
        f"machine speed: a fixed piece of Python took {statistics.median(yardsticks):.1f} ms of CPU "
        f"(median of rounds: {', '.join(f'{y:.1f}' for y in yardsticks)}); "
        "a higher figure is a slower machine"
    )
    for size in sizes:
        print(f"{size:,} posts (medians of {args.rounds} rounds)")
        for name, r in results[size].items():
            print(
                f"  {name:<12} {r['rps']:8.0f} req/s   p50 {r['p50_ms']:6.1f} ms   p99 {r['p99_ms']:6.1f} ms"
                f"   CPU/request: web {r['web_cpu_ms']:.1f} ms, db {r['db_cpu_ms']:.1f} ms"
                f"   non-2xx {r['non_2xx']}  socket errors {r['socket_errors']}",
                flush=True,
            )
    if len(sizes) >= 2:
        small, large = sizes[0], sizes[-1]
        for name in MEASURES:
            # Ratio within each round (the two ran back to back), then the median of those.
            ratios = [
                big["p99_ms"] / little["p99_ms"]
                for little, big in zip(runs[small, name], runs[large, name], strict=True)
            ]
            shown = ", ".join(f"{r:.2f}" for r in ratios)
            print(
                f"p99 {name} at {large:,} / at {small:,}: {statistics.median(ratios):.2f}x "
                f"(median of rounds: {shown})"
            )
    print(json.dumps({**{str(k): v for k, v in results.items()}, "yardstick_ms": yardsticks}))


if __name__ == "__main__":
    main()
