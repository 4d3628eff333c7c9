"""A few minutes of mixed load on the whole stack, with Redis and a worker failing midway.

gunicorn (PostgreSQL) + two Celery workers + beat, all on 127.0.0.1, driven by threads doing
a bounded mix of home/public timelines, posting, likes, follows and reports. A third of the
way in, Redis is stopped for a while and restarted; halfway, one worker is SIGKILLed and
replaced. The run prints req/s, p50/p99, errors and the moderation backlog per interval,
draws them into a PNG, and ends by checking that no accepted post was lost, every post got
a verdict, and no 5xx happened outside the Redis outage window.

    python bench/soak.py                      # 3 minutes
    python bench/soak.py --duration 60 --png /tmp/soak.png
"""

import argparse
import contextlib
import http.client
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
DB = "holdfast_soak"
WEB_PORT, REDIS_PORT = 8437, 6395
BUCKET = 5  # seconds per reported interval
WORDS = (
    "the a community garden river bridge library music morning coffee train city tonight weekend "
    "photo festival market book film rain sun snow mountain walk bike repair volunteer meeting "
    "school project code release bug fix coop bakery bread harbour lighthouse ferry storm tide"
).split()


def sh(*args: str, env: dict | None = None) -> str:
    result = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"soak: {' '.join(args[:3])} failed:\n{result.stderr[-2000:]}")
    return result.stdout


class Stack:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.env = {
            **os.environ,
            "DATABASE_URL": f"{PG}/{DB}",
            "CELERY_BROKER_URL": f"redis://127.0.0.1:{REDIS_PORT}/0",
            "REDIS_URL": f"redis://127.0.0.1:{REDIS_PORT}/1",
            "SECRET_KEY": "soak-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "false",
            "STATIC_ROOT": str(workdir / "static"),
            "MEDIA_ROOT": str(workdir / "media"),
            "HOLDFAST_MODERATION_SWEEP_AGE": "5",
            "HOLDFAST_MODERATION_SWEEP_INTERVAL": "5",
            "THROTTLE_USER": "100000000/hour",
            "THROTTLE_POSTING": "100000000/hour",
            "THROTTLE_REPORTS": "100000000/hour",
            "LOG_LEVEL": "ERROR",
        }
        self.redis: subprocess.Popen | None = None
        self.workers: list[subprocess.Popen] = []
        self.web: subprocess.Popen | None = None
        self.processes: list[subprocess.Popen] = []

    def spawn(self, name: str, *args: str) -> subprocess.Popen:
        log = (self.workdir / f"{name}.log").open("a")
        process = subprocess.Popen(
            args, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.processes.append(process)
        return process

    def start_redis(self) -> None:
        self.redis = self.spawn(
            "redis",
            "redis-server",
            "--port",
            str(REDIS_PORT),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.workdir),
        )
        time.sleep(0.5)

    def stop_redis(self) -> None:
        self.redis.send_signal(signal.SIGTERM)
        self.redis.wait(timeout=10)

    def start_worker(self, n: int) -> subprocess.Popen:
        worker = self.spawn(
            f"worker{n}",
            PYTHON,
            "-m",
            "celery",
            "-A",
            "microblog",
            "worker",
            "-Q",
            "moderation,default",
            "-c",
            "1",
            "-n",
            f"soak{n}@%h",
            "--loglevel",
            "WARNING",
        )
        self.workers.append(worker)
        return worker

    def start(self) -> None:
        self.start_redis()
        self.spawn(
            "beat",
            PYTHON,
            "-m",
            "celery",
            "-A",
            "microblog",
            "beat",
            "--schedule",
            str(self.workdir / "beat"),
            "--loglevel",
            "WARNING",
        )
        self.start_worker(1)
        self.start_worker(2)
        self.web = self.spawn(
            "gunicorn",
            PYTHON,
            "-m",
            "gunicorn",
            "microblog.wsgi:application",
            "-b",
            f"127.0.0.1:{WEB_PORT}",
            "-w",
            "3",
            "--access-logfile",
            "/dev/null",
        )
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{WEB_PORT}/healthz", timeout=1)
                return
            except OSError:
                time.sleep(0.2)
        sys.exit("soak: gunicorn did not start")

    def stop(self) -> None:
        for process in self.processes:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)


def prepare(env: dict) -> list[dict]:
    sh("psql", f"{PG}/postgres", "-q", "-c", f"DROP DATABASE IF EXISTS {DB}", "-c", f"CREATE DATABASE {DB}")
    sh(PYTHON, "manage.py", "migrate", "-v0", env=env)
    sh(PYTHON, "manage.py", "collectstatic", "--noinput", "-v0", env=env)
    sh(PYTHON, "manage.py", "seed", "--users", "2000", "--posts", "20000", "--follows", "30", "-v0", env=env)
    script = (
        "import json\nfrom microblog.accounts.models import User\n"
        "from microblog.accounts.services import create_access_token\n"
        "from microblog.posts.models import Post\n"
        "users = list(User.objects.filter(username__startswith='s1_').order_by('id')[:100])\n"
        "posts = list(Post.objects.order_by('-id').values_list('id', flat=True)[:500])\n"
        "print(json.dumps({'tokens': [create_access_token(u, 'soak')[1] for u in users],"
        " 'accounts': [u.pk for u in User.objects.filter(username__startswith='s1_')[:2000]],"
        " 'posts': posts}))\n"
    )
    return json.loads(sh(PYTHON, "manage.py", "shell", "-c", script, env=env).strip().splitlines()[-1])


class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latencies: dict[int, list[float]] = defaultdict(list)
        self.statuses: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.created: list[int] = []
        self.server_errors: list[tuple[float, int, str]] = []
        self.by_action: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))

    def record(self, t: float, status: int, elapsed: float, action: str) -> None:
        bucket = int(t // BUCKET)
        with self.lock:
            self.latencies[bucket].append(elapsed)
            self.statuses[bucket][str(status)] += 1
            self.by_action[action][status] += 1
            if status >= 500 or status == 0:
                self.server_errors.append((t, status, action))


def load(fixture: dict, recorder: Recorder, start: float, duration: float, seed: int) -> None:
    rng = random.Random(seed)
    conn = http.client.HTTPConnection("127.0.0.1", WEB_PORT, timeout=30)
    while time.monotonic() - start < duration:
        token = rng.choice(fixture["tokens"])
        roll = rng.random()
        body = None
        if roll < 0.40:
            action, method, path = "home", "GET", "/api/v1/timelines/home"
        elif roll < 0.50:
            action, method, path = "public", "GET", "/api/v1/timelines/public"
        elif roll < 0.75:
            action, method, path = "post", "POST", "/api/v1/statuses"
            # Varied text: near-identical posts from one account are (rightly) caught as a
            # flood, and enough strikes suspend the account.
            body = {"status": " ".join(rng.choices(WORDS, k=rng.randint(6, 24))).capitalize() + "."}
        elif roll < 0.90:
            post = rng.choice(fixture["posts"])
            action, method, path = "like", "POST", f"/api/v1/statuses/{post}/favourite"
        elif roll < 0.95:
            account = rng.choice(fixture["accounts"])
            action, method, path = "follow", "POST", f"/api/v1/accounts/{account}/follow"
        else:
            action, method, path = "report", "POST", "/api/holdfast/v1/moderation/reports/"
            body = {"post_id": rng.choice(fixture["posts"]), "category": "spam", "comment": "soak"}
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        sent = time.monotonic()
        try:
            conn.request(method, path, body=json.dumps(body) if body else None, headers=headers)
            response = conn.getresponse()
            payload = response.read()
            status = response.status
        except (OSError, http.client.HTTPException):
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", WEB_PORT, timeout=30)
            status, payload = 0, b""
        recorder.record(sent - start, status, time.monotonic() - sent, action)
        if action == "post" and status == 200:
            with recorder.lock:
                recorder.created.append(int(json.loads(payload)["id"]))


def backlog(env: dict) -> int:
    out = subprocess.run(
        [
            "psql",
            f"{PG}/{DB}",
            "-Atc",
            "SELECT count(*) FROM posts_post WHERE moderation_state='pending' AND deleted_at IS NULL",
        ],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return int(out or -1)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=180, help="seconds of load (30 to 1800)")
    parser.add_argument("--threads", type=int, default=6)
    parser.add_argument("--redis-outage", type=int, default=15, help="seconds Redis stays down")
    parser.add_argument("--png", default=str(ROOT / "bench" / "out" / "soak.png"))
    args = parser.parse_args()
    if not 30 <= args.duration <= 1800:
        sys.exit("soak: --duration must be between 30 and 1800 seconds")
    workdir = Path(tempfile.mkdtemp(prefix="holdfast-soak-"))
    stack = Stack(workdir)
    print("preparing a 20k-post community…", flush=True)
    fixture = prepare(stack.env)
    stack.start()
    recorder = Recorder()
    backlog_series: list[tuple[float, int]] = []
    events: list[tuple[float, str]] = []
    start = time.monotonic()
    threads = [
        threading.Thread(target=load, args=(fixture, recorder, start, args.duration, n), daemon=True)
        for n in range(args.threads)
    ]
    try:
        for thread in threads:
            thread.start()
        outage = (args.duration / 3, args.duration / 3 + args.redis_outage)
        kill_at = args.duration / 2
        redis_down = worker_killed = redis_back = False
        while (now := time.monotonic() - start) < args.duration:
            backlog_series.append((now, backlog(stack.env)))
            if not redis_down and now >= outage[0]:
                stack.stop_redis()
                events.append((now, "Redis stopped"))
                redis_down = True
            if redis_down and not redis_back and now >= outage[1]:
                stack.start_redis()
                events.append((now, "Redis started"))
                redis_back = True
            if not worker_killed and now >= kill_at:
                victim = stack.workers[0]
                os.killpg(victim.pid, signal.SIGKILL)
                events.append((now, "worker SIGKILLed"))
                stack.start_worker(3)
                worker_killed = True
            time.sleep(1)
        for thread in threads:
            thread.join(timeout=60)
        drain_started = time.monotonic()
        while backlog(stack.env) > 0 and time.monotonic() - drain_started < 120:
            backlog_series.append((time.monotonic() - start, backlog(stack.env)))
            time.sleep(1)
        drained_in = time.monotonic() - drain_started
        report(recorder, backlog_series, events, outage, args, stack.env, drained_in)
    finally:
        stack.stop()


def report(recorder: Recorder, backlog_series, events, outage, args, env: dict, drained_in: float) -> None:
    print(f"{'t (s)':>6} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'errors':>7} {'backlog':>8}")
    backlog_at = dict((int(t // BUCKET), n) for t, n in backlog_series)
    rows = []
    for bucket in sorted(recorder.latencies):
        lat = sorted(recorder.latencies[bucket])
        errors = sum(n for s, n in recorder.statuses[bucket].items() if s == "0" or s.startswith("5"))
        p50 = statistics.median(lat) * 1000
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000
        rows.append((bucket * BUCKET, len(lat) / BUCKET, p50, p99, errors, backlog_at.get(bucket, 0)))
        waiting = backlog_at.get(bucket, 0)
        print(f"{bucket * BUCKET:6d} {len(lat) / BUCKET:7.1f} {p50:7.1f} {p99:7.1f} {errors:7d} {waiting:8d}")
    for t, what in events:
        print(f"event at {t:5.1f} s: {what}")
    for action, counts in sorted(recorder.by_action.items()):
        print(f"{action:>8}: " + ", ".join(f"{code}: {n}" for code, n in sorted(counts.items())))
    window = (outage[0], outage[1] + 5)
    outside = [e for e in recorder.server_errors if not window[0] <= e[0] <= window[1]]
    inside = [e for e in recorder.server_errors if window[0] <= e[0] <= window[1]]
    ids = recorder.created
    id_list = ",".join(str(int(i)) for i in ids) or "0"
    query = f"SELECT count(*) FROM posts_post WHERE id IN ({id_list})"  # noqa: S608 - integers only
    stored = int(sh("psql", f"{PG}/{DB}", "-Atc", query).strip())
    pending = backlog(env)
    total = sum(len(v) for v in recorder.latencies.values())
    all_lat = sorted(x for v in recorder.latencies.values() for x in v)
    p50_all = statistics.median(all_lat) * 1000
    p99_all = all_lat[int(len(all_lat) * 0.99)] * 1000
    rate = total / args.duration
    print(f"requests {total}, {rate:.1f} req/s overall, p50 {p50_all:.1f} ms, p99 {p99_all:.1f} ms")
    print(
        f"posts accepted {len(ids)}, stored {stored}, lost {len(ids) - stored}; still pending {pending} "
        f"(backlog drained {drained_in:.0f} s after the load)"
    )
    print(f"5xx/connection errors: {len(inside)} inside the Redis outage window, {len(outside)} outside")
    draw(rows, events, args.png)
    print(f"chart: {args.png}")
    ok = stored == len(ids) and not outside and pending == 0
    print("RESULT", "PASS" if ok else "FAIL")
    if not ok:
        sys.exit(1)


def draw(rows, events, png: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = [r[0] for r in rows]
    fig, axes = plt.subplots(4, 1, figsize=(9, 9), sharex=True)
    series = [
        ("req/s", 1, "tab:blue"),
        ("p99 latency (ms)", 3, "tab:orange"),
        ("errors per interval", 4, "tab:red"),
        ("moderation backlog", 5, "tab:green"),
    ]
    for ax, (label, column, color) in zip(axes, series, strict=True):
        ax.plot(t, [r[column] for r in rows], color=color)
        ax.set_ylabel(label)
        for when, what in events:
            ax.axvline(when, color="grey", linestyle="--", linewidth=0.8)
            if ax is axes[0]:
                ax.annotate(what, (when, ax.get_ylim()[1]), fontsize=7, rotation=90, va="top")
    axes[-1].set_xlabel("seconds")
    fig.suptitle("Holdfast soak: mixed load, Redis outage and a worker SIGKILL")
    fig.tight_layout()
    Path(png).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=100)


if __name__ == "__main__":
    main()
