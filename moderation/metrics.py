"""Moderation figures: over time for the moderators' dashboard, and now for /metrics."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime, timedelta

from django.db.models import Count, Q
from django.db.models.functions import TruncDay, TruncHour
from django.utils import timezone

from . import worker_status
from .models import ModerationCase, Verdict

RANGES = {
    "24h": (timedelta(hours=24), timedelta(hours=1), TruncHour, "%H:%M"),
    "14d": (timedelta(days=14), timedelta(days=1), TruncDay, "%b %d"),
}


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    values = sorted(values)
    k = max(0, min(len(values) - 1, round(q * (len(values) - 1))))
    return values[k]


def series(range_key: str = "24h", now: datetime | None = None) -> dict:
    span, step, trunc, fmt = RANGES[range_key]
    now = now or timezone.now()
    if step == timedelta(hours=1):
        end = now.replace(minute=0, second=0, microsecond=0) + step
    else:
        end = now.replace(hour=0, minute=0, second=0, microsecond=0) + step
    start = end - span
    buckets = [start + step * i for i in range(int(span / step))]
    labels = [timezone.localtime(b).strftime(fmt) for b in buckets]
    index = {b: i for i, b in enumerate(buckets)}

    depth = [
        ModerationCase.objects.filter(created_at__lt=b + step)
        .filter(Q(decided_at__isnull=True) | Q(decided_at__gte=b + step))
        .count()
        for b in buckets
    ]
    flags: dict[str, list[float]] = defaultdict(lambda: [0.0] * len(buckets))
    rows = (
        Verdict.objects.filter(created_at__gte=start, automated=True)
        .exclude(action="allow")
        .annotate(bucket=trunc("created_at"))
        .values("bucket", "category")
        .annotate(n=Count("id"))
    )
    for row in rows:
        i = index.get(row["bucket"])
        if i is not None:
            flags[row["category"] or "other"][i] += row["n"]
    latencies: list[list[float]] = [[] for _ in buckets]
    auto = [0] * len(buckets)
    total = [0] * len(buckets)
    # A review the second stage later decided (allow/remove by "deep@...") is one post decided
    # without a human, not one held and one decided: count the post once, by its final verdict.
    redecided = set(
        Verdict.objects.filter(created_at__gte=start, automated=True, classifiers__startswith="deep@")
        .values_list("post_id", flat=True)[:500_000]
    )
    for created, latency, action, post_id, label in Verdict.objects.filter(
        created_at__gte=start, automated=True
    ).values_list("created_at", "latency", "action", "post_id", "classifiers")[:500_000]:
        i = int((created - start) / step)
        if 0 <= i < len(buckets):
            if not label.startswith("deep@"):  # latency: commit to the first verdict
                latencies[i].append(latency)
            if action == "review" and post_id in redecided and not label.startswith("deep@"):
                continue
            total[i] += 1
            auto[i] += action != "review"
    p95 = [percentile(v, 0.95) for v in latencies]
    share = [auto[i] / total[i] if total[i] else 0.0 for i in range(len(buckets))]
    all_lat = [x for v in latencies for x in v]
    return {
        "labels": labels,
        "queue_depth": depth,
        "flags": dict(flags),
        "p95_latency": p95,
        "auto_share": share,
        "totals": {
            "open_cases": ModerationCase.objects.filter(status__in=["open", "escalated"]).count(),
            "verdicts": sum(total),
            "p50_latency": percentile(all_lat, 0.5),
            "p95_latency": percentile(all_lat, 0.95),
            "auto_share": (sum(auto) / sum(total)) if sum(total) else 0.0,
        },
    }


def collect() -> Iterator:
    """Gauges for Prometheus (microblog.metrics calls this at scrape time)."""
    from prometheus_client.core import GaugeMetricFamily

    cases = GaugeMetricFamily(
        "holdfast_moderation_open_cases", "Open moderation cases by category.", labels=["category"]
    )
    rows = (
        ModerationCase.objects.filter(status__in=["open", "escalated"])
        .values("category")
        .annotate(n=Count("id"))
        .values_list("category", "n")
    )
    for category, n in rows:
        cases.add_metric([category or "none"], n)
    yield cases
    since = timezone.now() - timedelta(hours=1)
    verdicts = GaugeMetricFamily(
        "holdfast_moderation_verdicts_last_hour", "Verdicts in the last hour.", labels=["action", "automated"]
    )
    rows = (
        Verdict.objects.filter(created_at__gte=since)
        .values("action", "automated")
        .annotate(n=Count("id"))
        .values_list("action", "automated", "n")
    )
    for action, automated, n in rows:
        verdicts.add_metric([action, str(automated).lower()], n)
    yield verdicts
    lat = list(
        Verdict.objects.filter(created_at__gte=since, automated=True).values_list("latency", flat=True)[
            :100_000
        ]
    )
    p95 = GaugeMetricFamily("holdfast_moderation_verdict_p95_seconds", "p95 post-to-verdict time, last hour.")
    p95.add_metric([], percentile(lat, 0.95))
    yield p95
    yield _latency_histogram(lat)
    yield _classifier_errors(since)
    yield from worker_status.collect()


LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


def _latency_histogram(latencies: list[float]):
    """Post-to-verdict time of the last hour's automated verdicts, as a gauge histogram
    (a window, not a counter since start: it is read from the database at scrape time)."""
    from prometheus_client.core import GaugeHistogramMetricFamily

    cumulative, total = [], 0
    ordered = sorted(latencies)
    i = 0
    for bound in LATENCY_BUCKETS:
        while i < len(ordered) and ordered[i] <= bound:
            i += 1
        cumulative.append((str(bound), i))
    total = len(ordered)
    cumulative.append(("+Inf", total))
    return GaugeHistogramMetricFamily(
        "holdfast_moderation_verdict_latency_seconds",
        "Post-to-verdict time of automated verdicts in the last hour.",
        buckets=cumulative,
        gsum_value=float(sum(ordered)),
    )


def _classifier_errors(since):
    """Posts a classifier could not score in the last hour (each went to human review)."""
    from prometheus_client.core import GaugeMetricFamily

    from .models import ClassifierScore

    errors = GaugeMetricFamily(
        "holdfast_moderation_classifier_errors_last_hour",
        "Posts a classifier failed on in the last hour.",
        labels=["classifier"],
    )
    rows = (
        ClassifierScore.objects.filter(created_at__gte=since, category="error")
        .values("classifier")
        .annotate(n=Count("id"))
        .values_list("classifier", "n")
    )
    for name, n in rows:
        errors.add_metric([name], n)
    return errors
