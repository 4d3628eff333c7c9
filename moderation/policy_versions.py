"""Which thresholds the trained models run with: the shipped ones (version 0) or a
``PolicyVersion`` an admin applied, and the apply / restore / refuse moves between them.

Every read of "the thresholds currently in force" goes through :func:`active_thresholds`
(the text-model classifier once per batch, the second stage once per task, ``moderate_file``
once per run), so a change of artefact format is absorbed here, in :func:`shipped`.

Cheap on the hot path: one indexed query for the active version's id per call (the pipeline
calls it once per batch through the policy's per-batch thresholds memo); the thresholds of a
version are parsed once per process (a version's thresholds never change once stored).
Another process applying or restoring a version is therefore seen by the next batch.

A version is only used with the models it was calibrated for: when the shipped text model is
not the one its ``model_versions`` name (the models were retrained since), the shipped
thresholds are in force again and that is logged (and shown on the policy page).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from moderation.ml.policy import Thresholds, thresholds_from_json, thresholds_to_json

from .models import PolicyStatus, PolicyVersion

logger = logging.getLogger(__name__)

SHIPPED = 0  # the version number of the thresholds shipped with the model artefacts
APPLY_PERMISSION = "moderation.apply_policyversion"


@dataclass(frozen=True)
class StageThresholds:
    """The thresholds of every stage, in the structures the pipeline uses.

    ``first_stage``: the text model's when the second stage is off; ``first_stage_with_second``:
    the text model's while the second stage is on (a wider review band, calibrated jointly with
    it); ``second_stage``: the second stage's. The last two are None without a second stage."""

    version: int
    first_stage: dict[str, Thresholds]
    first_stage_with_second: dict[str, Thresholds] | None = None
    second_stage: dict[str, Thresholds] | None = None

    def to_json(self) -> dict:
        def opt(t: Mapping[str, Thresholds] | None) -> dict | None:
            return thresholds_to_json(t) if t is not None else None

        return {
            "first_stage": thresholds_to_json(self.first_stage),
            "first_stage_with_second": opt(self.first_stage_with_second),
            "second_stage": opt(self.second_stage),
        }

    @classmethod
    def from_json(cls, version: int, data: Mapping) -> StageThresholds:
        def opt(key: str) -> dict[str, Thresholds] | None:
            return thresholds_from_json(data[key]) if data.get(key) else None

        return cls(version, thresholds_from_json(data["first_stage"]), opt("first_stage_with_second"),
                   opt("second_stage"))


# Version 0: what the artefacts ship -----------------------------------------------------------


@cache
def shipped() -> StageThresholds:
    """The thresholds shipped with the model artefacts (``thresholds.json``, ``deep.npz``)."""
    from moderation.ml import deep
    from moderation.ml.model import load_thresholds

    first_with_second = second = None
    if deep.head_exists():
        head = deep.load_head()
        first_with_second, second = head.first_thresholds, head.thresholds
    return StageThresholds(SHIPPED, load_thresholds(), first_with_second, second)


@cache
def shipped_model_versions() -> dict[str, str | None]:
    """The versions of the shipped models, which a stored version must have been calibrated for."""
    from moderation.ml import deep
    from moderation.ml.model import load_model

    return {"textmodel": load_model().version,
            "deep": deep.load_head().version if deep.head_exists() else None}


def mismatch(model_versions: Mapping[str, str | None]) -> str:
    """Why thresholds calibrated for ``model_versions`` cannot run with the shipped models
    ("" if they can)."""
    shipped_now = shipped_model_versions()
    for name in ("textmodel", "deep"):
        wanted, have = model_versions.get(name), shipped_now.get(name)
        if wanted is not None and wanted != have:
            return f"calibrated for {name} {wanted}, but {have or 'no ' + name} is shipped"
    return ""


# The thresholds in force ----------------------------------------------------------------------

_pinned: ContextVar[StageThresholds | None] = ContextVar("holdfast_pinned_policy", default=None)
_parsed: dict[int, StageThresholds | None] = {}  # version id -> thresholds, None: not usable


@contextlib.contextmanager
def pinned(thresholds: StageThresholds) -> Iterator[StageThresholds]:
    """Use these thresholds without asking the database (``moderate_file`` reads the version in
    force once, then classifies thousands of posts)."""
    token = _pinned.set(thresholds)
    try:
        yield thresholds
    finally:
        _pinned.reset(token)


def active_thresholds() -> StageThresholds:
    """The thresholds in force: the active ``PolicyVersion``'s, or the shipped ones (version 0).

    Outside a transaction an unreachable database means the shipped thresholds (logged);
    inside one the error propagates, as every other query of that transaction would fail too."""
    pin = _pinned.get()
    if pin is not None:
        return pin
    try:
        pk = PolicyVersion.objects.filter(status=PolicyStatus.ACTIVE).values_list("pk", flat=True).first()
    except DatabaseError as exc:
        if connection.in_atomic_block:
            raise
        logger.warning("policy versions unreadable (%s): the shipped thresholds are in force", exc)
        return shipped()
    if pk is None:
        return shipped()
    if pk not in _parsed:
        _parsed[pk] = _usable(PolicyVersion.objects.get(pk=pk))
    return _parsed[pk] or shipped()


def _usable(version: PolicyVersion) -> StageThresholds | None:
    why = mismatch(version.model_versions)
    if why:
        logger.warning("policy version %s is active but %s: the shipped thresholds are in force",
                       version.pk, why)
        return None
    return StageThresholds.from_json(version.pk, version.thresholds)


def in_force() -> tuple[PolicyVersion | None, StageThresholds, str]:
    """(the active version or None, the thresholds in force, why the active one is not used or "")."""
    active = PolicyVersion.objects.filter(status=PolicyStatus.ACTIVE).first()
    if active is None:
        return None, shipped(), ""
    why = mismatch(active.model_versions)
    return active, (shipped() if why else StageThresholds.from_json(active.pk, active.thresholds)), why


def forget_cached() -> None:
    """Drop this process's parsed versions (tests; a version's thresholds never change)."""
    _parsed.clear()


# Proposals, apply, restore ---------------------------------------------------------------------


def can_apply(user) -> bool:
    """Admins apply and restore: superusers and holders of ``moderation.apply_policyversion``."""
    return bool(user is not None and user.is_authenticated and user.is_active
                and user.has_perm(APPLY_PERMISSION))


def store_proposal(
    thresholds: StageThresholds,
    *,
    model_versions: Mapping[str, str | None],
    figures: Mapping,
    data: Mapping,
    method: str,
    proposed_by=None,
    proposed_by_label: str = "",
    refusal_reason: str = "",
) -> PolicyVersion:
    """Store a proposal (status proposed, or refused with ``refusal_reason``), audit-logged."""
    from .services.audit import audit

    label = (proposed_by_label or (proposed_by.username if proposed_by is not None else "system"))[:150]
    with transaction.atomic():
        version = PolicyVersion.objects.create(
            thresholds=thresholds.to_json(), model_versions=dict(model_versions),
            status=PolicyStatus.REFUSED if refusal_reason else PolicyStatus.PROPOSED,
            proposed_by=proposed_by, proposed_by_label=label, method=method[:200], data=dict(data),
            figures=dict(figures), refusal_reason=refusal_reason,
        )
        audit(proposed_by, "policy_refused" if refusal_reason else "policy_proposed", "policy", version.pk,
              refusal_reason, {"method": version.method}, actor_label=label)
    return version


def _require_admin(user) -> None:
    if not can_apply(user):
        raise PermissionDenied("Only admins can apply or restore a moderation policy.")


def apply(user, version: PolicyVersion, reason: str = "") -> PolicyVersion:
    """Put ``version`` in force; the one in force before becomes its "previous"."""
    _require_admin(user)
    with _one_change_at_a_time(), transaction.atomic():
        version = PolicyVersion.objects.select_for_update().get(pk=version.pk)
        if version.status == PolicyStatus.ACTIVE:
            raise ValidationError({"non_field_errors": [f"Version {version.pk} is already in force."]})
        if version.status == PolicyStatus.REFUSED:
            raise ValidationError({"non_field_errors": [
                f"Version {version.pk} was refused ({version.refusal_reason}): it cannot be applied."]})
        why = mismatch(version.model_versions)
        if why:
            raise ValidationError(
                {"non_field_errors": [f"Version {version.pk} was {why}: propose a new one."]})
        before = _deactivate()
        _activate(version, user, previous=before)
        _audit_change(user, "policy_applied", version, before, reason)
    return version


def restore_previous(user, reason: str = "") -> PolicyVersion | None:
    """Put back the version that was in force before the active one (None: the shipped version 0)."""
    _require_admin(user)
    with _one_change_at_a_time(), transaction.atomic():
        active = PolicyVersion.objects.select_for_update().filter(status=PolicyStatus.ACTIVE).first()
        if active is None:
            raise ValidationError({"non_field_errors": [
                "The shipped thresholds (version 0) are in force: there is no previous version to restore."]})
        previous = (PolicyVersion.objects.select_for_update().get(pk=active.previous_id)
                    if active.previous_id else None)
        _deactivate()
        if previous is not None:
            # its own "previous" stays: restoring again steps further back
            _activate(previous, user, previous=previous.previous)
        _audit_change(user, "policy_restored", previous, active, reason)
    return previous


@contextlib.contextmanager
def _one_change_at_a_time() -> Iterator[None]:
    """Two admins changing the policy at once: the database keeps one version active (a unique
    constraint); the one who lost the race is told so instead of seeing an error page."""
    try:
        yield
    except IntegrityError:
        raise ValidationError({"non_field_errors": [
            "Another admin changed the policy at the same moment: reload the page and try again."]}) from None


def _deactivate() -> PolicyVersion | None:
    active = PolicyVersion.objects.select_for_update().filter(status=PolicyStatus.ACTIVE).first()
    if active is not None:
        active.status = PolicyStatus.SUPERSEDED
        active.save(update_fields=["status"])
    return active


def _activate(version: PolicyVersion, user, previous: PolicyVersion | None) -> None:
    version.status, version.previous = PolicyStatus.ACTIVE, previous
    version.applied_by, version.applied_by_label, version.applied_at = user, user.username, timezone.now()
    version.save(update_fields=["status", "previous", "applied_by", "applied_by_label", "applied_at"])


def _audit_change(user, action: str, now_in_force: PolicyVersion | None, before: PolicyVersion | None,
                  reason: str) -> None:
    from .services.audit import audit

    audit(user, action, "policy", now_in_force.pk if now_in_force else SHIPPED, (reason or "").strip(), {
        "in_force": now_in_force.pk if now_in_force else SHIPPED,
        "before": before.pk if before else SHIPPED,
        "thresholds": (now_in_force.thresholds if now_in_force else shipped().to_json()),
    })
