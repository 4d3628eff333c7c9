"""The audit log: every moderation decision, automated or human, writes one entry."""

from __future__ import annotations

from ..models import AuditEntry


def audit(
    actor,
    action: str,
    target_type: str,
    target_id: int,
    reason: str = "",
    detail: dict | None = None,
    actor_label: str = "",
) -> AuditEntry:
    label = actor_label or (actor.username if actor is not None else "system")
    return AuditEntry.objects.create(
        actor=actor,
        actor_label=label[:200],
        action=action,
        target_type=target_type,
        target_id=target_id,
        reason=reason,
        detail=detail or {},
    )
