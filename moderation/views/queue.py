"""The review queue: open cases ranked by severity, reach and age, with bulk actions."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from moderation.models import CaseStatus, Category
from moderation.permissions import moderator_required
from moderation.services import cases

PAGE = 50


@moderator_required
def queue(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "open")
    category = request.GET.get("category", "")
    try:
        ranked = cases.ranked_queue(status=status, category=category, limit=PAGE)
    except ValidationError as exc:
        return render(
            request,
            "moderation/queue.html",
            {"errors": exc.messages, "cases": [], "title": "Review queue", "categories": Category.choices},
            status=400,
        )
    return render(
        request,
        "moderation/queue.html",
        {
            "cases": ranked,
            "status": status,
            "category": category,
            "categories": Category.choices,
            "statuses": [("open", "Open"), *CaseStatus.choices],
            "title": "Review queue",
        },
    )


@moderator_required
@require_POST
def bulk(request: HttpRequest) -> HttpResponse:
    ids = request.POST.getlist("case")
    decision = request.POST.get("decision", "")
    reason = request.POST.get("reason", "")
    if not ids:
        messages.error(request, "Select at least one case.")
        return redirect("moderation:queue")
    if not all(i.isdigit() for i in ids):
        return HttpResponseBadRequest("Case ids must be numbers.")
    try:
        result = cases.bulk_decide(request.user, ids, decision, reason)
    except ValidationError as exc:
        for m in exc.messages:
            messages.error(request, m)
        return redirect("moderation:queue")
    if result["decided"]:
        messages.success(request, f"{decision.capitalize()}: {len(result['decided'])} case(s).")
    for case_id, error in result["errors"].items():
        messages.error(request, f"Case {case_id}: {error}")
    return redirect("moderation:queue")
