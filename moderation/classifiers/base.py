"""The plug-in interface every classifier implements, and the registry that loads them.

A classifier is a class with a ``name``, a ``version`` and ``classify(items)`` returning
one :class:`Result` per item, in order. Operators add their own by dotted path in
``HOLDFAST_MODERATION_CLASSIFIERS`` (options in ``HOLDFAST_MODERATION_CLASSIFIER_OPTIONS``).
A classifier that raises (or times out, or whose circuit breaker is open) never blocks
posting: the posts of that batch go to human review instead. See docs/moderation.md.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string

from moderation.ml.policy import Thresholds


class ClassifierUnavailable(Exception):
    """The classifier could not score this batch (down, timed out, circuit open)."""


class ClassifierTimeout(ClassifierUnavailable):
    """The classifier took longer than ``HOLDFAST_MODERATION_CLASSIFIER_TIMEOUT`` for a batch."""


@dataclass
class Item:
    """What a classifier sees of a post."""

    post_id: int | None
    text: str
    normalised: str
    author_id: int | None = None
    author_joined: datetime | None = None
    created_at: datetime | None = None


@dataclass
class Result:
    """Scores in [0, 1] per category, optional evidence per category, and optional
    actions a classifier imposes directly (rules do: a matched "remove" rule removes)."""

    scores: dict[str, float] = field(default_factory=dict)
    detail: dict[str, Any] = field(default_factory=dict)
    actions: dict[str, str] = field(default_factory=dict)


class Classifier:
    """Base class. Subclasses set ``name``/``version``/``categories`` and ``classify``."""

    name = "classifier"
    version = "1"
    categories: tuple[str, ...] = ()
    #: True if it reads the database (such classifiers are skipped by ``moderate_file``).
    needs_database = False

    def __init__(self, **options: Any) -> None:
        self.options = options

    @property
    def label(self) -> str:
        return f"{self.name}@{self.version}"

    def thresholds(self) -> dict[str, Thresholds]:
        """Per-category (review_at, remove_at) for this classifier's scores."""
        configured = settings.HOLDFAST_MODERATION_THRESHOLDS
        out = {}
        for cat in self.categories:
            t = configured.get(cat) or configured.get("external") or {"review_at": 0.5, "remove_at": 0.95}
            out[cat] = Thresholds(float(t["review_at"]), float(t["remove_at"]))
        return out

    def classify(self, items: list[Item]) -> list[Result]:  # pragma: no cover - interface
        raise NotImplementedError


class CircuitBreaker:
    """Open after ``failures`` consecutive errors; half-open again after ``cooldown`` s."""

    def __init__(self, failures: int, cooldown: float) -> None:
        self.failures, self.cooldown = failures, cooldown
        self.count, self.opened_at = 0, 0.0
        self._lock = threading.Lock()

    @property
    def is_open(self) -> bool:
        return self.count >= self.failures and time.monotonic() - self.opened_at < self.cooldown

    def success(self) -> None:
        with self._lock:
            self.count = 0

    def failure(self) -> None:
        with self._lock:
            self.count += 1
            if self.count >= self.failures:
                self.opened_at = time.monotonic()


_breakers: dict[str, CircuitBreaker] = {}
_instances: dict[tuple, list[Classifier]] = {}


def breaker_for(label: str) -> CircuitBreaker:
    if label not in _breakers:
        _breakers[label] = CircuitBreaker(
            settings.HOLDFAST_MODERATION_BREAKER_FAILURES, settings.HOLDFAST_MODERATION_BREAKER_COOLDOWN
        )
    return _breakers[label]


def load_classifier(path: str) -> Classifier:
    cls = import_string(path)
    options = settings.HOLDFAST_MODERATION_CLASSIFIER_OPTIONS.get(path, {})
    return cls(**options)


def enabled_classifiers() -> list[Classifier]:
    """The classifiers named in settings, instantiated once per process per setting."""
    key = tuple(settings.HOLDFAST_MODERATION_CLASSIFIERS)
    if key not in _instances:
        _instances[key] = [load_classifier(path) for path in key]
    return _instances[key]


@contextmanager
def time_budget(seconds: float, name: str) -> Iterator[None]:
    """Interrupt the block with ClassifierTimeout after ``seconds``, where that is possible.

    Only the main thread can be interrupted (SIGALRM), which is where Celery's prefork
    workers run tasks; elsewhere (threads, or a timer someone else already set) the block
    runs to its end and ``run_classifier`` judges it by its duration afterwards.
    """
    can_interrupt = (
        seconds > 0
        and threading.current_thread() is threading.main_thread()
        and signal.getitimer(signal.ITIMER_REAL)[0] == 0
    )
    if not can_interrupt:
        yield
        return

    def expired(signum, frame):
        raise ClassifierTimeout(f"{name}: no answer within {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_classifier(classifier: Classifier, items: list[Item]) -> list[Result] | ClassifierUnavailable:
    """Run one classifier behind its circuit breaker and time budget.

    Errors and overruns become ClassifierUnavailable (the batch goes to humans) and count
    towards opening the breaker, so a classifier that hangs or crawls cannot hold up the
    queue for more than a few batches.
    """
    breaker = breaker_for(classifier.name)
    if breaker.is_open:
        return ClassifierUnavailable(f"{classifier.name}: circuit open after repeated failures")
    budget = settings.HOLDFAST_MODERATION_CLASSIFIER_TIMEOUT
    try:
        started = time.monotonic()
        with time_budget(budget, classifier.name):
            results = classifier.classify(items)
        if budget > 0 and time.monotonic() - started > budget:
            raise ClassifierTimeout(f"{classifier.name}: took more than {budget:g} s for {len(items)} posts")
        if len(results) != len(items):
            raise ClassifierUnavailable(f"returned {len(results)} results for {len(items)} posts")
    except Exception as exc:  # any failure of a plug-in sends the posts to humans
        breaker.failure()
        return (
            exc
            if isinstance(exc, ClassifierUnavailable)
            else ClassifierUnavailable(f"{classifier.name}: {type(exc).__name__}: {exc}")
        )
    breaker.success()
    return results
