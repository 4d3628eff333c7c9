"""A case in context: the post and its thread, scores, matched rules, the author's history."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from moderation.forms import AccountActionForm, DecisionForm
from moderation.models import AccountAction, ModerationCase, Strike, Verdict
from moderation.permissions import moderator_required
from moderation.services import accounts, cases

from .common import form_errors


def case_context(case: ModerationCase) -> dict:
    post = case.post
    scores = list(post.moderation_scores.order_by("classifier", "category")) if post else []
    history = {
        "cases": ModerationCase.objects.filter(account=case.account).exclude(pk=case.pk).order_by("-id")[:10],
        "strikes": Strike.objects.filter(account=case.account).order_by("-id")[:10],
        "actions": AccountAction.objects.filter(account=case.account).order_by("-id")[:10],
        "active_strikes": accounts.active_strikes(case.account),
        "recent_posts": case.account.posts.filter(deleted_at__isnull=True).order_by("-id")[:5],
    }
    return {
        "case": case,
        "post": post,
        "parent": post.in_reply_to if post else None,
        "scores": scores,
        "matched": [s for s in scores if s.detail.get("matched")],
        "verdicts": Verdict.objects.filter(post=post).order_by("-id")[:10] if post else [],
        "reports": case.reports.select_related("reporter").order_by("id"),
        "history": history,
    }


@moderator_required
def case_detail(request: HttpRequest, case_id: int) -> HttpResponse:
    case = cases.get_case(case_id)
    form, action_form = DecisionForm(), AccountActionForm()
    status = 200
    if request.method == "POST":
        op = request.POST.get("op", "decide")
        try:
            if op in ("claim", "release"):
                cases.claim(request.user, case, release=op == "release")
                messages.success(request, "Claimed." if op == "claim" else "Released.")
                return redirect("moderation:case", case.pk)
            if op == "act":
                action_form = AccountActionForm(request.POST)
                if action_form.is_valid():
                    cases.act_on_case(request.user, case, **action_form.cleaned_data)
                    messages.success(request, "Account action taken.")
                    return redirect("moderation:queue")
            else:
                form = DecisionForm(request.POST)
                if form.is_valid():
                    cases.decide_case(request.user, case, **form.cleaned_data)
                    messages.success(request, f"Case {case.pk}: {form.cleaned_data['decision']}.")
                    return redirect("moderation:queue")
            status = 400
        except ValidationError as exc:
            form_errors(action_form if op == "act" else form, exc)
            status = 400
        except PermissionDenied as exc:
            messages.error(request, str(exc))
            status = 403
        case = cases.get_case(case_id)
    context = case_context(case)
    context.update({"form": form, "action_form": action_form, "title": f"Case {case.pk}"})
    return render(request, "moderation/case.html", context, status=status)
