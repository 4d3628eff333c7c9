"""Celery tasks on the ``moderation`` queue (and the second stage's ``moderation_deep``):
idempotent, acks late, retried with backoff."""

from celery import shared_task
from django.db import DatabaseError, InterfaceError, OperationalError

from . import dispatch, pipeline, second_stage
from .classifiers import spam
from .services import accounts

RETRYABLE = (OperationalError, InterfaceError, DatabaseError, ConnectionError, TimeoutError)
# Periodic housekeeping from beat: safe to re-run, retried while the database is away.
HOUSEKEEPING = {
    "acks_late": True,
    "ignore_result": True,
    "autoretry_for": RETRYABLE,
    "retry_backoff": True,
    "max_retries": 5,
}


@shared_task(
    name=dispatch.MODERATE_POSTS,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=RETRYABLE,
    retry_backoff=1,
    retry_backoff_max=60,
    retry_jitter=True,
    max_retries=8,
    soft_time_limit=60,
    time_limit=90,
    ignore_result=True,
)
def moderate_posts(post_ids: list[int]) -> int:
    return pipeline.moderate_batch(post_ids)


@shared_task(
    name=dispatch.MODERATE_DEEP,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=RETRYABLE,
    retry_backoff=1,
    retry_backoff_max=60,
    retry_jitter=True,
    max_retries=8,
    soft_time_limit=120,
    time_limit=180,
    ignore_result=True,
)
def moderate_deep(post_ids: list[int]) -> dict[str, int]:
    """Second stage for held posts (``moderation.second_stage``); routed to ``moderation_deep``."""
    return second_stage.decide_held(post_ids)


@shared_task(
    name="moderation.sweep_pending", acks_late=True, ignore_result=True, soft_time_limit=60, time_limit=90
)
def sweep_pending() -> int:
    return pipeline.sweep()


@shared_task(name="moderation.expire_account_actions", soft_time_limit=120, time_limit=180, **HOUSEKEEPING)
def expire_account_actions() -> int:
    return accounts.expire_account_actions()


@shared_task(name="moderation.propose_policy", acks_late=False, ignore_result=True, soft_time_limit=3600,
             time_limit=3700)
def propose_policy() -> str:
    """Propose recalibrated thresholds from the community's recent decisions (beat, when
    ``HOLDFAST_MODERATION_PROPOSE_POLICY`` is on); never applies them."""
    from .learning.proposal import propose_scheduled

    return propose_scheduled()


@shared_task(name="moderation.prune_fingerprints", soft_time_limit=300, time_limit=360, **HOUSEKEEPING)
def prune_fingerprints() -> int:
    """Drop spam-detection fingerprints older than the spam window (hourly, from beat)."""
    return spam.prune_fingerprints()
