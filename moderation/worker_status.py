"""Is the second stage served? The workers consuming its queue and the queue's length, for
``/readyz`` and ``/metrics``.

A deep worker that is down costs automation, not safety: the posts it would re-decide are
already held with an open case, so humans decide them. Readiness therefore reports it
(``"moderation_deep": "no worker"``) without failing, and the gauges
``holdfast_moderation_deep_workers`` and ``holdfast_moderation_deep_queue_length`` are what to
alert on.

Asking which workers consume a queue is a broadcast (Celery's ``inspect active_queues``) that
waits its whole timeout for replies, so each process keeps the answer for
``HOLDFAST_MODERATION_DEEP_STATUS_TTL`` seconds: a load balancer polling ``/readyz`` every
second and a scraper every 15 s cost one broadcast per process per period.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from functools import cache

from django.conf import settings

logger = logging.getLogger(__name__)

INSPECT_TIMEOUT = 1.0  # seconds the broadcast waits for workers' replies
# kombu's Redis transport keeps a queue's messages of priority 3/6/9 in lists of their own.
REDIS_PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")


@dataclass(frozen=True)
class DeepStatus:
    """``state``: "off" (not switched on), "eager" (no broker: tasks run in-process),
    "ok" (at least one worker consumes the queue), "no worker", or "unavailable: <error>"
    (the broker did not answer). ``workers`` and ``queue_length`` are None where unknown."""

    state: str
    workers: int | None = None
    queue_length: int | None = None

    @property
    def switched_on(self) -> bool:
        return self.state != "off"


_lock = threading.Lock()
_cached: tuple[float, DeepStatus] | None = None


def deep_status(max_age: float | None = None) -> DeepStatus:
    """The second stage's status, at most ``max_age`` seconds old (default: the setting)."""
    global _cached
    ttl = settings.HOLDFAST_MODERATION_DEEP_STATUS_TTL if max_age is None else max_age
    with _lock:
        if _cached is not None and time.monotonic() - _cached[0] < ttl:
            return _cached[1]
    status = _measure()
    with _lock:
        _cached = (time.monotonic(), status)
    return status


def _measure() -> DeepStatus:
    from . import second_stage

    if not second_stage.switched_on():
        return DeepStatus("off")
    if not settings.CELERY_BROKER_URL:
        return DeepStatus("eager")
    queue = settings.HOLDFAST_MODERATION_DEEP_QUEUE
    try:
        workers = consuming_workers(queue)
    except Exception as exc:  # broker unreachable: say so, never fail the caller
        logger.warning("could not ask the workers which queues they consume: %s", exc)
        return DeepStatus(f"unavailable: {type(exc).__name__}")
    try:
        length = queue_length(queue)
    except Exception as exc:
        logger.warning("could not read the length of queue %s: %s", queue, exc)
        length = None
    return DeepStatus("ok" if workers else "no worker", workers, length)


def consuming_workers(queue: str) -> int:
    """How many worker nodes (one per ``celery worker`` process tree) consume ``queue``."""
    from microblog.celery import app

    replies = app.control.inspect(timeout=INSPECT_TIMEOUT).active_queues() or {}
    return sum(1 for queues in replies.values() if any(q.get("name") == queue for q in queues or ()))


@cache
def _redis_for(url: str):
    import redis

    return redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)


def queue_length(queue: str) -> int:
    """Messages waiting on ``queue`` in the Redis broker (all priority lists)."""
    client = _redis_for(settings.CELERY_BROKER_URL)
    with client.pipeline(transaction=False) as pipe:
        for suffix in REDIS_PRIORITY_SUFFIXES:
            pipe.llen(queue + suffix)
        return int(sum(pipe.execute()))


def collect():
    """Gauges for Prometheus (``moderation.metrics.collect`` yields these at scrape time)."""
    from prometheus_client.core import GaugeMetricFamily

    status = deep_status()
    enabled = GaugeMetricFamily(
        "holdfast_moderation_deep_enabled", "1 if the moderation second stage is switched on."
    )
    enabled.add_metric([], 1.0 if status.switched_on else 0.0)
    yield enabled
    if status.workers is not None:
        workers = GaugeMetricFamily(
            "holdfast_moderation_deep_workers",
            "Celery workers consuming the moderation_deep queue (0: held posts stay with humans).",
        )
        workers.add_metric([], float(status.workers))
        yield workers
    if status.queue_length is not None:
        length = GaugeMetricFamily(
            "holdfast_moderation_deep_queue_length",
            "Second-stage tasks waiting on the moderation_deep queue.",
        )
        length.add_metric([], float(status.queue_length))
        yield length
