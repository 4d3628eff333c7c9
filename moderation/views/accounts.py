"""An account seen by moderators: history, strikes, actions; warn / limit / suspend / lift."""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from moderation.forms import AccountActionForm
from moderation.models import AccountAction, ModerationCase, Strike
from moderation.permissions import moderator_required
from moderation.services import accounts

from .common import form_errors

User = get_user_model()


@moderator_required
def account_detail(request: HttpRequest, username: str) -> HttpResponse:
    account = User.objects.filter(username__iexact=username).first()
    if account is None:
        raise Http404("No such account.")
    form = AccountActionForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        try:
            if "lift" in request.POST:
                action = AccountAction.objects.filter(
                    pk=request.POST.get("lift", "0") or 0, account=account
                ).first()
                if action is None:
                    raise ValidationError("No such action on this account.")
                accounts.lift_account_action(request.user, action, request.POST.get("reason", ""))
                messages.success(request, "Action lifted.")
                return redirect("moderation:account", account.username)
            if form.is_valid():
                accounts.take_account_action(request.user, account, **form.cleaned_data)
                messages.success(request, f"{form.cleaned_data['kind'].capitalize()} recorded.")
                return redirect("moderation:account", account.username)
        except ValidationError as exc:
            form_errors(form, exc)
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
            status = 403
    return render(
        request,
        "moderation/account.html",
        {
            "account": account,
            "form": form,
            "actions": AccountAction.objects.filter(account=account).order_by("-id"),
            "strikes": Strike.objects.filter(account=account).order_by("-id"),
            "active_strikes": accounts.active_strikes(account),
            "cases": ModerationCase.objects.filter(account=account).order_by("-id")[:20],
            "title": f"@{account.username}",
        },
        status=status,
    )
