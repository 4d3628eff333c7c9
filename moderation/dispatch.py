"""Queueing moderation tasks by name.

``moderation.tasks`` imports the pipeline and the second stage to run their work; they in turn
need to queue tasks. Queueing through this module, by task name, keeps the imports one way
(tasks -> pipeline, second_stage -> dispatch) instead of a circle. ``ModerationConfig.ready``
imports ``moderation.tasks`` so the names resolve to the registered tasks in every process:
``apply_async`` then honours eager mode (no broker configured) exactly as before.
"""

from __future__ import annotations

from microblog.celery import app

MODERATE_POSTS = "moderation.moderate_posts"
MODERATE_DEEP = "moderation.moderate_deep"


def queue_task(name: str, *args: object, queue: str) -> None:
    """Queue the task called ``name`` with ``args`` on ``queue``; broker errors propagate."""
    app.signature(name, args=args).apply_async(queue=queue)
