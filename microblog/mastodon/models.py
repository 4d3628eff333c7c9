"""What the Mastodon client API keeps beyond the site's own data."""

from django.conf import settings
from django.db import models


class AppDetails(models.Model):
    """What Mastodon records about an app and django-oauth-toolkit's Application does not."""

    application = models.OneToOneField(
        "oauth2_provider.Application", on_delete=models.CASCADE, related_name="mastodon_details"
    )
    website = models.CharField(max_length=2000, blank=True)
    scopes = models.CharField(max_length=1000, default="read")

    def __str__(self) -> str:
        return f"{self.application_id}: {self.scopes}"


class Marker(models.Model):
    """Where a person stopped reading a timeline (``home`` or ``notifications``), shared by their apps."""

    TIMELINES = ("home", "notifications")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="markers")
    timeline = models.CharField(max_length=20)
    last_read_id = models.BigIntegerField()
    version = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "timeline"], name="marker_once")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.timeline} at {self.last_read_id}"


class IdempotentPost(models.Model):
    """A post created with an ``Idempotency-Key``: the same key again returns the same post."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    fingerprint = models.CharField(max_length=64, help_text="Hash of the request's parameters.")
    post = models.ForeignKey("posts.Post", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_once")]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.key} -> {self.post_id}"
