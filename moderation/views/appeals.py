"""Pending appeals, decided by a moderator other than the one who took the decision."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from moderation.forms import AppealDecisionForm
from moderation.models import Appeal, AppealStatus
from moderation.permissions import moderator_required
from moderation.services import appeals

from .common import form_errors


@moderator_required
def appeal_list(request: HttpRequest) -> HttpResponse:
    pending = (
        Appeal.objects.filter(status=AppealStatus.PENDING)
        .select_related("case", "case__post", "case__decided_by", "author")
        .order_by("created_at")
    )
    decided = (
        Appeal.objects.exclude(status=AppealStatus.PENDING)
        .select_related("case", "author", "decided_by")
        .order_by("-decided_at")[:20]
    )
    return render(
        request, "moderation/appeals.html", {"pending": pending, "decided": decided, "title": "Appeals"}
    )


@moderator_required
def appeal_decide(request: HttpRequest, appeal_id: int) -> HttpResponse:
    item = get_object_or_404(Appeal.objects.select_related("case", "case__post", "author"), pk=appeal_id)
    form = AppealDecisionForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                appeals.decide_appeal(
                    request.user,
                    item,
                    reverse=form.cleaned_data["outcome"] == "reverse",
                    reason=form.cleaned_data["reason"],
                )
                messages.success(request, "Appeal decided.")
                return redirect("moderation:appeals")
            except ValidationError as exc:
                form_errors(form, exc)
            except PermissionDenied as exc:
                form.add_error(None, str(exc))
                status = 403
    return render(
        request,
        "moderation/appeal_decide.html",
        {"appeal": item, "form": form, "title": "Decide appeal"},
        status=status,
    )
