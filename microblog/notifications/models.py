"""What someone did that the recipient wants to hear about."""

from django.conf import settings
from django.db import models


class NotificationKind(models.TextChoices):
    MENTION = "mention", "mentioned you"
    REPLY = "reply", "replied to your post"
    FOLLOW = "follow", "followed you"
    LIKE = "like", "liked your post"
    REPOST = "repost", "reposted your post"
    MODERATION = "moderation", "moderation"


class Notification(models.Model):
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(max_length=20, choices=NotificationKind.choices)
    post = models.ForeignKey("posts.Post", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    message = models.TextField(blank=True, help_text="Free text, for moderation notices.")
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["recipient", "-id"], name="notification_newest"),
            models.Index(
                fields=["recipient"],
                condition=models.Q(read_at__isnull=True),
                name="notification_unread",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.actor} {self.get_kind_display()} → {self.recipient}"
