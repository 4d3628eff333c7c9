from django.conf import settings

from moderation.services.moderators import is_moderator


def site(request):
    unread = 0
    if request.user.is_authenticated:
        from microblog.notifications.services import unread_count

        unread = unread_count(request.user)
    return {
        "site_name": settings.HOLDFAST_SITE_NAME,
        "unread_notifications": unread,
        "post_max_length": settings.HOLDFAST_POST_MAX_LENGTH,
        "is_moderator": is_moderator(request.user),
    }
