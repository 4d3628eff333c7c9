"""The Celery application shared by the web process, workers and beat.

Queues are named by purpose (as BookWyrm does) so an operator can give moderation
its own workers: ``celery -A microblog worker -Q moderation``.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "microblog.settings")

app = Celery("microblog")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def tasks_run_eagerly() -> bool:
    """True where no broker is configured: tasks run in-process when they are queued."""
    return bool(app.conf.task_always_eager)
