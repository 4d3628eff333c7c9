"""Who may moderate: superusers and members of the ``moderator`` group."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied


def is_moderator(user) -> bool:
    """Superusers and active members of the ``moderator`` group (cached on the user)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    cached = getattr(user, "_is_moderator", None)
    if cached is None:
        cached = user._is_moderator = user.groups.filter(name="moderator").exists()
    return cached


def require_moderator(user) -> None:
    if not is_moderator(user):
        raise PermissionDenied("Only moderators can do this.")
