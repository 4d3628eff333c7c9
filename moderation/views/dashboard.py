"""Charts over time: queue depth, flags per category, p95 post-to-verdict, automation share."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from moderation import metrics
from moderation.charts import line_chart
from moderation.permissions import moderator_required


@moderator_required
def dashboard(request: HttpRequest) -> HttpResponse:
    range_key = request.GET.get("range", "24h")
    if range_key not in metrics.RANGES:
        return render(
            request,
            "moderation/dashboard.html",
            {"errors": [f"Choose a range: {', '.join(metrics.RANGES)}."], "title": "Dashboard"},
            status=400,
        )
    data = metrics.series(range_key)
    labels = data["labels"]
    charts = [
        line_chart("Queue depth (open cases)", labels, {"open cases": data["queue_depth"]}),
        line_chart("Flags per category", labels, data["flags"] or {"none": [0] * len(labels)}),
        line_chart("p95 time from post to verdict", labels, {"p95": data["p95_latency"]}, unit=" s"),
        line_chart("Share decided without a human", labels, {"automated": data["auto_share"]}),
    ]
    return render(
        request,
        "moderation/dashboard.html",
        {
            "charts": charts,
            "totals": data["totals"],
            "range": range_key,
            "ranges": list(metrics.RANGES),
            "title": "Dashboard",
        },
    )
