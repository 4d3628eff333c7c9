"""Moderation throughput and latency through real Redis and Celery worker processes.

A fresh PostgreSQL database, a real ``celery -A microblog worker -Q moderation`` (prefork,
cores + 1 processes), a dedicated Redis database. Posts are enqueued exactly as the
``posts_committed`` on-commit hook does (``moderation.pipeline.enqueue_posts``).

1. Throughput: 20,000 pending posts, each enqueued on its own, then time until every one
   has a verdict: posts classified per second, end to end.
2. Latency: posts committed one by one at a steady 200/s (each its own INSERT + commit,
   then the hook); p50/p95 from commit to verdict (``Verdict.latency``).
3. Worker memory: peak RSS of the worker processes (main + children) while it runs.
4. With ``--deep``: the second stage is on (``HOLDFAST_MODERATION_DEEP``) and a second worker
   (``-Q moderation_deep -c 1``, at ``nice`` 10 so it yields to the first pass) re-decides the
   posts the text model held; the first-verdict figures above are measured with it running,
   and the bench reports how fast the deep queue drains (posts/s) and what it decided.

Texts are distinct posts from the labelled splits (``--data``), by default 90 % ``ok`` posts
and 10 % violating ones, roughly what a live community sees; ``--flagged-share`` changes it.

    python bench/moderation.py [--posts 20000] [--rate 200] [--seconds 30] [--concurrency 3] [--deep]
"""

import argparse
import csv
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED_MODERATION_DATA = ROOT.parent / "shared" / "data" / "moderation"  # ../shared next to the checkout
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
DB = os.environ.get("BENCH_DB", "holdfast_bench_moderation")
BROKER = os.environ.get("BENCH_BROKER", "redis://127.0.0.1:6379/13")
PYTHON = sys.executable
UNUSABLE = "!"  # an unusable password hash: bench accounts cannot log in


def environment() -> dict:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "microblog.settings",
        "DATABASE_URL": f"{PG}/{DB}",
        "SECRET_KEY": "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "CELERY_BROKER_URL": BROKER,
        "HOLDFAST_MODERATION_SWEEP_AGE": "300",
        "LOG_LEVEL": "WARNING",
    }


def sh(*args: str, env: dict) -> None:
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"bench: {' '.join(args[:4])} failed:\n{done.stderr[-2000:]}")


def fresh_database(env: dict) -> None:
    sh("psql", f"{PG}/postgres", "-qc", f'DROP DATABASE IF EXISTS "{DB}"', env=env)
    sh("psql", f"{PG}/postgres", "-qc", f'CREATE DATABASE "{DB}"', env=env)
    sh(PYTHON, "manage.py", "migrate", "--noinput", "-v0", env=env)


def rss_kb(pid: int) -> int:
    """RSS of a process and all its children, in KiB."""
    out = subprocess.run(["ps", "-o", "pid=,ppid=,rss=", "-e"], capture_output=True, text=True).stdout
    rows = [tuple(map(int, line.split())) for line in out.splitlines() if line.strip()]
    family, total, changed = {pid}, 0, True
    while changed:
        changed = False
        for p, pp, _ in rows:
            if pp in family and p not in family:
                family.add(p)
                changed = True
    for p, _, rss in rows:
        if p in family:
            total += rss
    return total


def load_texts(data: Path, n: int, flagged_share: float, seed: int = 0) -> list[str]:
    """Distinct texts (no repeats, so the flood heuristics stay quiet) from the labelled CSVs."""
    files = sorted(data.glob("*.csv")) if data.is_dir() else [data]
    ok, bad, seen = [], [], set()
    for path in files:
        with path.open(encoding="utf-8") as fh:
            for r in csv.DictReader(fh):
                if r["text"] not in seen:
                    seen.add(r["text"])
                    (ok if r["label"] == "ok" else bad).append(r["text"])
    rng = random.Random(seed)
    rng.shuffle(ok)
    rng.shuffle(bad)
    n_bad = min(len(bad), round(n * flagged_share))
    if n - n_bad > len(ok):
        sys.exit(f"bench: only {len(ok)} distinct ok texts for {n - n_bad} posts")
    texts = ok[: n - n_bad] + bad[:n_bad]
    rng.shuffle(texts)
    return texts


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))] if values else float("nan")


def drain_deep(ids: list[int], t0: float, t1: float, deep_worker, timeout: float = 1800.0) -> dict:
    """Wait until the deep queue is empty and the second stage has stopped scoring; figures.
    (Not every queued post gets scored: one whose author got limited by strikes meanwhile,
    say, is left to humans.)"""
    import redis

    from microblog.posts.models import ModerationState, Post
    from moderation.models import ClassifierScore, ModerationCase, Verdict

    broker = redis.Redis.from_url(BROKER)
    cases = ModerationCase.objects.filter(post_id__in=ids, automated=True).values_list("reasons", flat=True)
    queued = sum(1 for r in cases if r and all(str(x).startswith("textmodel@") for x in r))
    deadline = time.monotonic() + timeout
    done, last, last_change = -1, -1, time.monotonic()
    end = time.monotonic()
    while time.monotonic() < deadline:
        if deep_worker.poll() is not None:
            sys.exit("bench: the deep worker died")
        scored = ClassifierScore.objects.filter(post_id__in=ids, classifier="deep")
        done = scored.values("post_id").distinct().count()
        now = time.monotonic()
        if done != last:
            last, last_change, end = done, now, now
        elif broker.llen("moderation_deep") == 0 and now - last_change > 15:
            break
        time.sleep(0.5)
    elapsed = end - t0
    deep_verdicts = Verdict.objects.filter(post_id__in=ids, classifiers__startswith="deep@")
    allow = deep_verdicts.filter(action="allow").count()
    remove = deep_verdicts.filter(action="remove").count()
    held = Post.objects.filter(pk__in=ids, moderation_state=ModerationState.HELD).count()
    first = Verdict.objects.filter(post_id__in=ids, action="review").exclude(classifiers__startswith="deep@")
    return {"held_first": first.count(), "queued": queued, "done": done, "seconds": elapsed,
            "after_first": end - t1,
            "rate": done / elapsed if elapsed else 0.0,
            "allow": allow, "remove": remove, "review": done - allow - remove, "held_after": held}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--posts", type=int, default=20000)
    ap.add_argument("--rate", type=float, default=200.0)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument(
        "--concurrency",
        type=int,
        default=(os.cpu_count() or 2) + 1,
        help="worker processes (default: cores + 1; a batch waits on the database about 40%% of its time)",
    )
    ap.add_argument("--users", type=int, default=2000)
    ap.add_argument("--flagged-share", type=float, default=0.10)
    ap.add_argument("--deep", action="store_true", help="second stage on, with its own worker (needs torch)")
    ap.add_argument("--deep-threads", type=int, default=0, help="torch threads of the deep worker (0: cores)")
    ap.add_argument(
        "--data", default=str(SHARED_MODERATION_DATA), help="labelled CSV or a directory of them"
    )
    args = ap.parse_args()
    data = Path(args.data)
    if not data.exists():
        sys.exit(f"bench: labelled data not found: {data} (pass --data)")

    env = environment()
    if args.deep:
        env["HOLDFAST_MODERATION_DEEP"] = "true"
        env["HOLDFAST_MODERATION_DEEP_THREADS"] = str(args.deep_threads)
    os.environ.update(env)
    print(f"bench: fresh database {DB}, broker {BROKER}")
    fresh_database(env)
    import redis

    redis.Redis.from_url(BROKER).flushdb()

    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from microblog.posts.models import ModerationState, Post
    from moderation.models import Verdict
    from moderation.pipeline import enqueue_posts

    User = get_user_model()
    joined = timezone.now() - timedelta(days=60)
    User.objects.bulk_create(
        [User(username=f"bench{i}", password=UNUSABLE, date_joined=joined) for i in range(args.users)]
    )
    authors = list(User.objects.values_list("pk", flat=True))
    texts = load_texts(data, args.posts + int(args.rate * args.seconds) + 500, args.flagged_share)
    text_iter = iter(texts)
    rng = random.Random(1)

    log = Path(tempfile.mkstemp(prefix="bench-worker-", suffix=".log")[1])
    worker = subprocess.Popen(
        [
            str(Path(PYTHON).parent / "celery"),
            "-A",
            "microblog",
            "worker",
            "-Q",
            "moderation",
            "-c",
            str(args.concurrency),
            "--pool",
            "prefork",
            "--loglevel",
            "WARNING",
            "-n",
            f"bench-{os.getpid()}@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deep_worker = None
    if args.deep:
        deep_log = Path(tempfile.mkstemp(prefix="bench-deep-worker-", suffix=".log")[1])
        deep_worker = subprocess.Popen(
            ["nice", "-n", "10", str(Path(PYTHON).parent / "celery"), "-A", "microblog", "worker",
             "-Q", "moderation_deep", "-c", "1", "--pool", "prefork", "--loglevel", "WARNING",
             "-n", f"bench-deep-{os.getpid()}@%h"],
            cwd=ROOT, env=env, stdout=deep_log.open("w"), stderr=subprocess.STDOUT, start_new_session=True,
        )
    peak_rss = 0
    deep_peak_rss = [0]

    def pending(lo: int, hi: int) -> int:
        # A range scan, not "pk IN (20,000 ids)": building and running that query cost this
        # process about 80 ms of CPU per poll, taken from the worker on the same two cores.
        # Every id waited for lies in [lo, hi], so no pending post there means none of them
        # is pending; another pending post in the range could only make the wait longer.
        return Post.objects.filter(moderation_state=ModerationState.PENDING, pk__gte=lo, pk__lte=hi).count()

    def wait_all(ids, timeout: float = 600.0) -> float:
        nonlocal peak_rss
        lo, hi = min(ids), max(ids)
        deadline = time.monotonic() + timeout
        next_rss = 0.0
        while time.monotonic() < deadline:
            if time.monotonic() >= next_rss:  # `ps -e` costs a few ms: twice a second is enough
                peak_rss = max(peak_rss, rss_kb(worker.pid))
                next_rss = time.monotonic() + 0.5
            if worker.poll() is not None:
                sys.exit(f"bench: the worker died:\n{log.read_text()[-3000:]}")
            if pending(lo, hi) == 0:
                return time.monotonic()
            time.sleep(0.05)
        sys.exit(f"bench: {pending(lo, hi)} posts still pending after {timeout}s")

    try:
        # Warm-up: worker start, model load, first connections.
        warm = Post.objects.bulk_create(
            [Post(author_id=rng.choice(authors), text=next(text_iter)) for _ in range(200)]
        )
        for p in warm:
            enqueue_posts(post_ids=[p.pk])
        wait_all([p.pk for p in warm], timeout=120)
        idle_rss = rss_kb(worker.pid)

        # 1. Throughput.
        created = Post.objects.bulk_create(
            [Post(author_id=rng.choice(authors), text=next(text_iter)) for _ in range(args.posts)],
            batch_size=2000,
        )
        ids = [p.pk for p in created]
        t0 = time.monotonic()
        for pk in ids:
            enqueue_posts(post_ids=[pk])
        published = time.monotonic() - t0
        t1 = wait_all(ids)
        throughput = len(ids) / (t1 - t0)
        actions = dict.fromkeys(("allow", "review", "remove"), 0)
        first = Verdict.objects.filter(post_id__in=ids).exclude(classifiers__startswith="deep@")
        for action in first.values_list("action", flat=True):
            actions[action] += 1
        deep_stats = steady_deep = None
        if deep_worker is not None:
            # The burst left the second stage a backlog of half its posts: let it drain first, so
            # the steady phase measures how the second stage keeps up, not the burst's backlog.
            deep_stats = drain_deep(ids, t0, t1, deep_worker)
        deep_queue_max = 0

        # 2. Latency at a steady rate, each post its own commit, from a few producer threads.
        n = int(args.rate * args.seconds)
        producers = 4
        interval = producers / args.rate
        steady: list[int] = []
        late = [0]
        lock = threading.Lock()

        def produce(k: int) -> None:
            from django.db import connection

            texts_k = texts_steady[k::producers]
            begin = start + k / args.rate
            for i, text in enumerate(texts_k):
                due = begin + i * interval
                now = time.monotonic()
                if due > now:
                    time.sleep(due - now)
                elif now - due > 0.05:
                    late[0] += 1
                post = Post.objects.create(author_id=authors[(k + i * producers) % len(authors)], text=text)
                enqueue_posts(post_ids=[post.pk])
                with lock:
                    steady.append(post.pk)
            connection.close()

        texts_steady = [next(text_iter) for _ in range(n)]
        start = time.monotonic() + 0.1
        threads = [threading.Thread(target=produce, args=(k,)) for k in range(producers)]
        for t in threads:
            t.start()
        if deep_worker is not None:
            import redis

            deep_broker = redis.Redis.from_url(BROKER)
        while any(t.is_alive() for t in threads):
            peak_rss = max(peak_rss, rss_kb(worker.pid))
            if deep_worker is not None:
                deep_queue_max = max(deep_queue_max, deep_broker.llen("moderation_deep"))
                deep_peak_rss[0] = max(deep_peak_rss[0], rss_kb(deep_worker.pid))
            time.sleep(0.5)
        behind = late[0]
        offered = n / (time.monotonic() - start)
        wait_all(steady, timeout=120)
        lat = list(
            Verdict.objects.filter(post_id__in=steady)
            .exclude(classifiers__startswith="deep@")
            .values_list("latency", flat=True)
        )
        if deep_worker is not None:  # let it finish the steady phase's posts
            steady_deep = drain_deep(steady, start, time.monotonic(), deep_worker)
            steady_deep["latency"] = list(
                Verdict.objects.filter(post_id__in=steady, classifiers__startswith="deep@")
                .values_list("latency", flat=True))
            steady_deep["queue_max"] = deep_queue_max
    finally:
        if deep_worker is not None:
            deep_worker.send_signal(signal.SIGTERM)
            try:
                deep_worker.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(deep_worker.pid, signal.SIGKILL)
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)

    print()
    print(
        f"Throughput: {len(ids)} posts, enqueue took {published:.1f}s, all decided after {t1 - t0:.1f}s "
        f"→ {throughput:,.0f} posts/s end to end (worker concurrency {args.concurrency})"
    )
    print(
        f"  verdicts: {actions['allow']} allow, {actions['review']} review, {actions['remove']} remove "
        f"(flagged share of input {args.flagged_share:.0%})"
    )
    if deep_stats is not None:
        print(
            f"Second stage: {deep_stats['queued']} held posts queued, {deep_stats['done']} scored "
            f"{deep_stats['seconds']:.1f}s after the first enqueue "
            f"({deep_stats['after_first']:.1f}s after the last first verdict) "
            f"→ {deep_stats['rate']:,.1f} posts/s drained "
            f"(1 worker process at nice 10, in parallel with the first pass); "
            f"it allowed {deep_stats['allow']}, removed "
            f"{deep_stats['remove']}, left {deep_stats['review']} for humans. Held for humans, the "
            f"{len(ids)} posts: {deep_stats['held_first']} → {deep_stats['held_after']}"
        )
    if steady_deep is not None:
        dl = steady_deep["latency"]
        hold_rate = steady_deep["queued"] / args.seconds
        print(
            f"Second stage at a steady {args.rate:.0f} posts/s: the first stage handed it "
            f"{steady_deep['queued']} posts ({hold_rate:.1f}/s); it scored {steady_deep['done']}, "
            f"deep queue at most {steady_deep['queue_max']} tasks long, "
            f"done {steady_deep['after_first']:.1f}s after the last post; "
            f"commit → final verdict for the {len(dl)} posts it decided: "
            f"p50 {statistics.median(dl) if dl else float('nan'):.2f}s, "
            f"p95 {percentile(dl, 0.95):.2f}s, max {max(dl) if dl else float('nan'):.2f}s"
        )
        print(f"Deep worker memory: peak {deep_peak_rss[0] / 1024:.0f} MiB RSS")
    print(
        f"Latency at a steady {args.rate:.0f} posts/s (offered {offered:.0f}/s, {n} posts, "
        f"{behind} late sends): "
        f"p50 {statistics.median(lat) * 1000:.0f} ms, p95 {percentile(lat, 0.95) * 1000:.0f} ms, "
        f"max {max(lat) * 1000:.0f} ms (commit → verdict)"
    )
    print(
        f"Worker memory (main + {args.concurrency} children): {idle_rss / 1024:.0f} MiB after warm-up, "
        f"peak {peak_rss / 1024:.0f} MiB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
