"""Policy versions: the thresholds in force, proposals with their figures, apply and restore.

Moderators see the page; only admins (``policy_versions.can_apply``) apply or restore, and
each change is in the audit log."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from moderation import policy_versions
from moderation.forms import PolicyChangeForm
from moderation.models import PolicyStatus, PolicyVersion
from moderation.permissions import moderator_required

from .common import form_errors

FIGURE_ROWS = (
    ("share_auto", "Decided without a human"),
    ("violence_recall", "Violence recall"),
    ("removal_precision", "Removal precision"),
    ("ok_removed", "Ok posts removed"),
    ("auto_error", "Error among auto-decided"),
)


def _figure_table(figures: dict) -> list[tuple[str, list[str]]]:
    """Rows of (figure, [dev before, after, after cross-fitted, community before, after]) as text."""
    rows = []
    for key, name in FIGURE_ROWS:
        cells = []
        for where, when in (("dev", "before"), ("dev", "after"), ("dev", "after_crossfit"),
                            ("community", "before"), ("community", "after")):
            value = figures.get(where, {}).get(when, {}).get(key)
            cells.append("—" if value is None else f"{value:.3f}")
        rows.append((name, cells))
    return rows


def _page(request: HttpRequest, form: PolicyChangeForm | None = None, status: int = 200) -> HttpResponse:
    active, in_force, mismatch = policy_versions.in_force()
    versions = list(PolicyVersion.objects.select_related("previous")[:50])
    for v in versions:
        v.table = _figure_table(v.figures)
    return render(request, "moderation/policy.html", {
        "title": "Policy versions",
        "versions": versions,
        "active": active,
        "in_force": in_force,
        "in_force_json": in_force.to_json(),
        "mismatch": mismatch,
        "can_apply": policy_versions.can_apply(request.user),
        "form": form or PolicyChangeForm(),
        "figure_rows": FIGURE_ROWS,
        "applicable": (PolicyStatus.PROPOSED, PolicyStatus.SUPERSEDED),
    }, status=status)


@moderator_required
def policy_list(request: HttpRequest) -> HttpResponse:
    return _page(request)


def _change(request: HttpRequest, change) -> HttpResponse:
    if not policy_versions.can_apply(request.user):
        raise PermissionDenied("Only admins can apply or restore a moderation policy.")
    form = PolicyChangeForm(request.POST)
    if form.is_valid():
        try:
            message = change(form.cleaned_data["reason"])
        except ValidationError as exc:
            form_errors(form, exc)
        else:
            messages.success(request, message)
            return redirect("moderation:policy")
    return _page(request, form, status=400)


@require_POST
@moderator_required
def policy_apply(request: HttpRequest, version_id: int) -> HttpResponse:
    version = get_object_or_404(PolicyVersion, pk=version_id)

    def change(reason: str) -> str:
        policy_versions.apply(request.user, version, reason)
        return f"Version {version.pk} is in force."

    return _change(request, change)


@require_POST
@moderator_required
def policy_restore(request: HttpRequest) -> HttpResponse:
    def change(reason: str) -> str:
        restored = policy_versions.restore_previous(request.user, reason)
        return f"Version {restored.pk if restored else 0} is in force again."

    return _change(request, change)
