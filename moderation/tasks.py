from celery import shared_task

from .pipeline import moderate


@shared_task(name="moderation.moderate_posts", acks_late=True, ignore_result=True)
def moderate_posts(post_ids: list[int]) -> int:
    return moderate(post_ids)
