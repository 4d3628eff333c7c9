"""Reports received, newest first, with the case each was merged into."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from moderation.models import Report
from moderation.permissions import moderator_required


@moderator_required
def report_list(request: HttpRequest) -> HttpResponse:
    reports = Report.objects.select_related("reporter", "account", "post", "case").order_by("-id")[:200]
    return render(request, "moderation/reports.html", {"reports": reports, "title": "Reports"})
