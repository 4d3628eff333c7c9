"""Posts and what hangs off them: edits, attachments, likes, hashtags, mentions, feeds."""

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.functional import cached_property

from microblog.links import link, stored_file_url


class Visibility(models.TextChoices):
    PUBLIC = "public", "Public"
    FOLLOWERS = "followers", "Followers only"


class ModerationState(models.TextChoices):
    PENDING = "pending", "Waiting for moderation"
    ALLOWED = "allowed", "Allowed"
    HELD = "held", "Held for review"
    REMOVED = "removed", "Removed"


class Post(models.Model):
    """A post, a reply (``in_reply_to``) or a repost (``repost_of``, with no text of its own)."""

    # No single-column indexes where a composite one below starts with the same column:
    # every index is written on every post, and posting is the hot write path.
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="posts", db_index=False
    )
    text = models.TextField(blank=True)
    html = models.TextField(blank=True, help_text="Safe HTML rendered from the text when it is saved.")
    content_warning = models.CharField(max_length=200, blank=True)
    visibility = models.CharField(max_length=10, choices=Visibility.choices, default=Visibility.PUBLIC)
    in_reply_to = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replies"
    )
    thread_root = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="thread_posts", db_index=False
    )
    repost_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="reposts"
    )
    moderation_state = models.CharField(
        max_length=10, choices=ModerationState.choices, default=ModerationState.PENDING
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    edited_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    likes_count = models.PositiveIntegerField(default=0)
    reposts_count = models.PositiveIntegerField(default=0)
    replies_count = models.PositiveIntegerField(default=0)
    hashtags = models.ManyToManyField("Hashtag", through="PostHashtag", related_name="posts")
    mentions = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Mention", related_name="mentioned_in"
    )

    class Meta:
        indexes = [
            models.Index(fields=["author", "-id"], name="post_author_newest"),
            models.Index(fields=["thread_root", "id"], name="post_thread"),
            models.Index(fields=["visibility", "moderation_state", "-id"], name="post_public_newest"),
            # Posts still waiting for a verdict are few: the sweeper that re-queues them and the
            # queue-depth gauge read this small index, not one over every post's state.
            models.Index(
                fields=["created_at"],
                condition=models.Q(moderation_state=ModerationState.PENDING, deleted_at__isnull=True),
                name="post_pending_since",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["author", "repost_of"],
                condition=models.Q(repost_of__isnull=False, deleted_at__isnull=True),
                name="repost_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.author}: {self.text[:40]}"

    def get_absolute_url(self) -> str:
        return link("post-detail", self.pk)

    @cached_property
    def links(self) -> "PostLinks":
        return PostLinks(self.pk)

    @property
    def is_repost(self) -> bool:
        return self.repost_of_id is not None

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class PostLinks:
    """The URLs a post card links to, for templates: ``{{ post.links.like }}``."""

    def __init__(self, post_id: int) -> None:
        self.post_id = post_id

    def __getattr__(self, name: str) -> str:
        if name in _ACTIONS:
            return link("post-action", self.post_id, name)
        if name in _PAGES:
            return link(_PAGES[name], self.post_id)
        raise AttributeError(name)


_ACTIONS = {"like", "unlike", "repost", "unrepost"}
_PAGES = {
    "detail": "post-detail",
    "edit": "post-edit",
    "delete": "post-delete",
    "history": "post-history",
    "report": "moderation:report-post",
}


class PostEdit(models.Model):
    """A version of a post as it was before an edit: the history is kept, never rewritten."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="edits")
    text = models.TextField()
    content_warning = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(help_text="When this version was first published.")
    replaced_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-replaced_at", "-id"]

    def __str__(self) -> str:
        return f"Edit of post {self.post_id} at {self.replaced_at:%Y-%m-%d %H:%M}"


class Attachment(models.Model):
    """An image uploaded by its owner, attached to at most one post."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="attachments")
    post = models.ForeignKey(
        Post, null=True, blank=True, on_delete=models.CASCADE, related_name="attachments"
    )
    file = models.ImageField(upload_to="attachments/%Y/%m/")
    alt_text = models.CharField(max_length=1500, blank=True)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    content_type = models.CharField(max_length=50)
    size = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.file.name

    @property
    def url(self) -> str:
        return stored_file_url(self, "file") or ""


class Like(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="likes")
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="likes")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "post"], name="like_once")]

    def __str__(self) -> str:
        return f"{self.user} likes {self.post_id}"


class Hashtag(models.Model):
    name = models.CharField(max_length=100, unique=True, help_text="Lower-cased, without the #.")

    def __str__(self) -> str:
        return f"#{self.name}"

    def get_absolute_url(self) -> str:
        return reverse("hashtag", args=[self.name])


class PostHashtag(models.Model):
    post = models.ForeignKey(Post, on_delete=models.CASCADE)
    hashtag = models.ForeignKey(Hashtag, on_delete=models.CASCADE)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["hashtag", "post"], name="post_hashtag_once")]

    def __str__(self) -> str:
        return f"{self.hashtag} on {self.post_id}"


class Mention(models.Model):
    post = models.ForeignKey(Post, on_delete=models.CASCADE)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["post", "user"], name="mention_once")]

    def __str__(self) -> str:
        return f"{self.user} in {self.post_id}"


class FeedEntry(models.Model):
    """One row per (reader, post) in a reader's home timeline, written when the post is.

    Materialising the home feed keeps its read a single index range scan, whatever the
    size of the site or how many accounts the reader follows.
    """

    # A post fans out to one row per follower, so each row's cost is paid dozens of times per
    # post. No database foreign keys here: their per-row checks doubled the cost of a fan-out
    # (measured on the 100k bench database). Django still cascades deletes of owners and
    # posts; a row left behind by a race with such a delete is never shown, because the feed
    # is read joined to its post. No owner index either: feed_entry_once starts with owner.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+",
        db_index=False, db_constraint=False,
    )
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="feed_entries", db_constraint=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["owner", "post"], name="feed_entry_once")]

    def __str__(self) -> str:
        return f"{self.post_id} in feed of {self.owner_id}"


class Bookmark(models.Model):
    """A post someone saved for later; only they see it (Mastodon's bookmarks)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "post"], name="bookmark_once")]
        indexes = [models.Index(fields=["user", "-id"], name="bookmark_newest")]

    def __str__(self) -> str:
        return f"{self.user_id} saved {self.post_id}"
