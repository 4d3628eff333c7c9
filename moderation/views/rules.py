"""Rules: list, create, edit, delete, and "test against recent posts"."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from moderation import rules_service
from moderation.forms import RuleForm
from moderation.models import Rule
from moderation.permissions import moderator_required

from .common import form_errors


def _save_or_preview(request, form: RuleForm, rule: Rule | None):
    """Returns (response or None, preview dict or None)."""
    if not form.is_valid():
        return None, None
    data = form.cleaned_data
    try:
        if "preview" in request.POST:
            return None, rules_service.preview(
                request.user,
                kind=data["kind"],
                pattern=data["pattern"],
                category=data["category"],
                action=data["action"],
            )
        if rule is None:
            rules_service.create_rule(request.user, **data)
            messages.success(request, "Rule added.")
        else:
            rules_service.update_rule(request.user, rule, **data)
            messages.success(request, "Rule saved.")
    except ValidationError as exc:
        form_errors(form, exc)
        return None, None
    return redirect("moderation:rules"), None


@moderator_required
def rule_list(request: HttpRequest) -> HttpResponse:
    form = RuleForm(request.POST or None)
    preview = None
    if request.method == "POST":
        response, preview = _save_or_preview(request, form, None)
        if response:
            return response
    status = 400 if form.errors else 200
    return render(
        request,
        "moderation/rules.html",
        {
            "rules": Rule.objects.select_related("created_by"),
            "form": form,
            "preview": preview,
            "title": "Rules",
        },
        status=status,
    )


@moderator_required
def rule_edit(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = get_object_or_404(Rule, pk=rule_id)
    if request.method == "POST" and "delete" in request.POST:
        rules_service.delete_rule(request.user, rule)
        messages.success(request, "Rule deleted.")
        return redirect("moderation:rules")
    form = RuleForm(request.POST) if request.method == "POST" else RuleForm.for_rule(rule)
    preview = None
    if request.method == "POST":
        response, preview = _save_or_preview(request, form, rule)
        if response:
            return response
    return render(
        request,
        "moderation/rule_edit.html",
        {"rule": rule, "form": form, "preview": preview, "title": "Edit rule"},
        status=400 if form.errors else 200,
    )
