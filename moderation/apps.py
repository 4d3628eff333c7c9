from django.apps import AppConfig


class ModerationConfig(AppConfig):
    name = "moderation"
    verbose_name = "Moderation"

    def ready(self) -> None:
        from microblog.posts.signals import posts_committed

        # Registers the Celery tasks in every process (web included), so ``moderation.dispatch``
        # resolves their names to the tasks themselves.
        from . import tasks  # noqa: F401
        from .pipeline import enqueue_posts

        posts_committed.connect(enqueue_posts, dispatch_uid="moderation.enqueue_posts")
