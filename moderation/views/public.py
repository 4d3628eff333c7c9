"""What every user gets: report a post or an account, see decisions about them, appeal."""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from microblog.posts.timelines import get_visible_post
from moderation.forms import AppealForm, ReportForm
from moderation.models import ModerationCase, Outcome
from moderation.services import appeals, cases, reports

from .common import form_errors

User = get_user_model()


@login_required
def report_post(request: HttpRequest, post_id: int) -> HttpResponse:
    post = get_visible_post(request.user, post_id)
    return _report(request, {"post_id": post.pk}, post=post)


@login_required
def report_account(request: HttpRequest, username: str) -> HttpResponse:
    account = User.objects.filter(username__iexact=username, is_active=True).first()
    if account is None:
        from django.http import Http404

        raise Http404("No such account.")
    return _report(request, {"username": account.username}, account=account)


def _report(request, target: dict, **context) -> HttpResponse:
    form = ReportForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                reports.report(request.user, **target, **form.cleaned_data)
                messages.success(
                    request, "Thank you: moderators will look at it, and we will tell you the outcome."
                )
                return redirect("home")
            except ValidationError as exc:
                form_errors(form, exc)
    return render(
        request, "moderation/report_form.html", {"form": form, "title": "Report", **context}, status=status
    )


@login_required
def my_decisions(request: HttpRequest) -> HttpResponse:
    """Removals and account actions about me, with their appeal status."""
    cases = (
        ModerationCase.objects.filter(account=request.user, outcome__in=[Outcome.REMOVED, Outcome.ACTIONED])
        .select_related("post")
        .order_by("-id")[:50]
    )
    return render(request, "moderation/mine.html", {"cases": cases, "title": "Moderation decisions"})


@login_required
def appeal(request: HttpRequest, case_id: int) -> HttpResponse:
    case = cases.get_case(case_id)
    owner_id = case.post.author_id if case.post_id else case.account_id
    if owner_id != request.user.pk:
        raise PermissionDenied("You can only appeal decisions about your own posts or account.")
    form = AppealForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                appeals.appeal(request.user, case, form.cleaned_data["text"])
                messages.success(
                    request, "Appeal sent: a different moderator will decide, and we will tell you."
                )
                return redirect("moderation:mine")
            except ValidationError as exc:
                form_errors(form, exc)
    return render(
        request,
        "moderation/appeal_form.html",
        {"case": case, "form": form, "title": "Appeal", "deadline": appeals.appeal_deadline(case)},
        status=status,
    )
