"""Browse the append-only audit log."""

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from moderation.models import AuditEntry
from moderation.permissions import moderator_required

from .common import int_param

PAGE = 100


@moderator_required
def audit_log(request: HttpRequest) -> HttpResponse:
    qs = AuditEntry.objects.all()
    try:
        before = int_param(request, "before")
        target_id = int_param(request, "target_id")
    except ValidationError as exc:
        return render(
            request,
            "moderation/audit.html",
            {"errors": exc.messages, "entries": [], "title": "Audit log"},
            status=400,
        )
    action = request.GET.get("action", "").strip()
    actor = request.GET.get("actor", "").strip()
    target_type = request.GET.get("target_type", "").strip()
    if action:
        qs = qs.filter(action=action)
    if actor:
        qs = qs.filter(actor_label__icontains=actor)
    if target_type:
        qs = qs.filter(target_type=target_type)
    if target_id is not None:
        qs = qs.filter(target_id=target_id)
    if before is not None:
        qs = qs.filter(id__lt=before)
    entries = list(qs.order_by("-id")[: PAGE + 1])
    next_cursor = entries[PAGE - 1].pk if len(entries) > PAGE else None
    query = request.GET.copy()
    query.pop("before", None)
    return render(
        request,
        "moderation/audit.html",
        {
            "entries": entries[:PAGE],
            "next_cursor": next_cursor,
            "query": query.urlencode(),
            "filters": {
                "action": action,
                "actor": actor,
                "target_type": target_type,
                "target_id": "" if target_id is None else target_id,
            },
            "title": "Audit log",
        },
    )
