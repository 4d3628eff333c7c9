"""Prometheus metrics at /metrics: django-prometheus's request and database metrics, plus
figures read from the database at scrape time (moderation backlog, posts by state).

Reading shared state at scrape time, rather than counting in each process, keeps the
figures right across gunicorn workers and Celery workers without a multiprocess registry.
"""

import hmac

from django.conf import settings
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django_prometheus import exports
from prometheus_client.core import REGISTRY, GaugeMetricFamily

from microblog.posts.models import ModerationState, Post


class HoldfastCollector:
    def collect(self):
        try:
            yield from self._collect()
        except Exception:  # the database being down must not break the scrape itself
            return

    def _collect(self):
        pending = Post.objects.filter(moderation_state=ModerationState.PENDING, deleted_at__isnull=True)
        depth = GaugeMetricFamily("holdfast_moderation_queue_depth", "Posts waiting for a verdict.")
        depth.add_metric([], pending.count())
        yield depth
        oldest = pending.order_by("created_at").values_list("created_at", flat=True).first()
        age = GaugeMetricFamily(
            "holdfast_moderation_oldest_pending_seconds", "Age of the oldest post waiting for a verdict."
        )
        age.add_metric([], (timezone.now() - oldest).total_seconds() if oldest else 0.0)
        yield age
        by_state = GaugeMetricFamily("holdfast_posts", "Posts by moderation state.", labels=["state"])
        counts = dict(
            Post.objects.values_list("moderation_state")
            .annotate(n=Count("id"))
            .values_list("moderation_state", "n")
        )
        for state in ModerationState.values:
            by_state.add_metric([state], counts.get(state, 0))
        yield by_state
        from moderation import metrics as moderation_metrics

        yield from moderation_metrics.collect()


_registered = False


def register_collectors() -> None:
    global _registered
    if not _registered:
        REGISTRY.register(HoldfastCollector())
        _registered = True


def metrics_view(request: HttpRequest) -> HttpResponse:
    """Only for staff sessions or a scraper holding HOLDFAST_METRICS_TOKEN."""
    token = settings.HOLDFAST_METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    allowed = (request.user.is_authenticated and request.user.is_staff) or (
        token and hmac.compare_digest(header.encode(), f"Bearer {token}".encode())
    )
    if not allowed:
        response = HttpResponse(
            "Metrics need a staff login or the metrics token.\n", status=401, content_type="text/plain"
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    register_collectors()
    return exports.ExportToDjangoView(request)
