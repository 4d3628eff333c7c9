from django.conf import settings
from django.db.models.manager import BaseManager
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from microblog.accounts.models import AccessToken, User
from microblog.notifications.models import Notification, NotificationKind
from microblog.posts.models import Attachment, ModerationState, Post, PostEdit, Visibility

from . import representations
from .fields import ObjectIdField


class AccountSerializer(serializers.ModelSerializer):
    avatar = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "display_name",
            "bio",
            "avatar",
            "url",
            "followers_count",
            "following_count",
            "posts_count",
            "date_joined",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True, help_text="Path of the avatar image."))
    def get_avatar(self, obj: User) -> str | None:
        return obj.avatar.url if obj.avatar else None

    def get_url(self, obj: User) -> str:
        return obj.get_absolute_url()

    def to_representation(self, instance: User) -> dict:
        return representations.account_representation(instance)


class AttachmentSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = Attachment
        fields = ["id", "url", "alt_text", "width", "height", "content_type", "size"]
        read_only_fields = fields

    def get_url(self, obj: Attachment) -> str:
        return obj.file.url

    def to_representation(self, instance: Attachment) -> dict:
        return representations.attachment_representation(instance)


class MediaUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="A JPEG, PNG, GIF or WebP image.")
    alt_text = serializers.CharField(required=False, allow_blank=True, max_length=1500, default="")


class _PostFields(serializers.ModelSerializer):
    author = AccountSerializer(read_only=True)
    attachments = AttachmentSerializer(many=True, read_only=True)
    liked = serializers.SerializerMethodField()
    reposted = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()
    moderation_state = serializers.ChoiceField(choices=ModerationState.choices, read_only=True)

    class Meta:
        model = Post
        fields = [
            "id",
            "url",
            "author",
            "text",
            "html",
            "content_warning",
            "visibility",
            "in_reply_to_id",
            "moderation_state",
            "created_at",
            "edited_at",
            "likes_count",
            "reposts_count",
            "replies_count",
            "attachments",
            "liked",
            "reposted",
        ]
        read_only_fields = fields

    def get_liked(self, obj: Post) -> bool:
        return obj.pk in self.context.get("liked_ids", ())

    def get_reposted(self, obj: Post) -> bool:
        return obj.pk in self.context.get("reposted_ids", ())

    def get_url(self, obj: Post) -> str:
        return obj.get_absolute_url()

    def to_representation(self, instance: Post) -> dict:
        return representations.post_representation(
            instance,
            self.context.get("liked_ids", ()),
            self.context.get("reposted_ids", ()),
            nested=False,
        )


class _PostList(serializers.ListSerializer):
    """Many posts rendered together, so what they share is looked up once per response."""

    def to_representation(self, data) -> list[dict]:
        posts = data.all() if isinstance(data, BaseManager) else data
        return representations.posts_representation(
            posts, self.context.get("liked_ids", ()), self.context.get("reposted_ids", ())
        )


class PostSerializer(_PostFields):
    """A post; for a repost, ``repost_of`` holds the original and ``text`` is empty."""

    repost_of = _PostFields(read_only=True, allow_null=True)

    class Meta(_PostFields.Meta):
        fields = [*_PostFields.Meta.fields, "repost_of"]
        read_only_fields = fields
        list_serializer_class = _PostList

    def to_representation(self, instance: Post) -> dict:
        return representations.post_representation(
            instance, self.context.get("liked_ids", ()), self.context.get("reposted_ids", ())
        )


class PostCreateSerializer(serializers.Serializer):
    text = serializers.CharField(
        allow_blank=True,
        trim_whitespace=False,
        required=False,
        default="",
        max_length=settings.HOLDFAST_POST_MAX_LENGTH + 1000,
        help_text=f"At most {settings.HOLDFAST_POST_MAX_LENGTH} characters after trimming.",
    )
    content_warning = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)
    visibility = serializers.ChoiceField(choices=Visibility.choices, default=Visibility.PUBLIC)
    in_reply_to_id = ObjectIdField(required=False, allow_null=True, default=None)
    attachment_ids = serializers.ListField(
        child=ObjectIdField(),
        required=False,
        default=list,
        max_length=settings.HOLDFAST_MAX_ATTACHMENTS,
    )


class PostEditSerializer(serializers.Serializer):
    text = serializers.CharField(
        allow_blank=True, trim_whitespace=False, max_length=settings.HOLDFAST_POST_MAX_LENGTH + 1000
    )
    content_warning = serializers.CharField(
        required=False, allow_blank=True, max_length=200, default=None, allow_null=True
    )


class PostEditHistorySerializer(serializers.ModelSerializer):
    class Meta:
        model = PostEdit
        fields = ["text", "content_warning", "created_at", "replaced_at"]
        read_only_fields = fields


class ThreadSerializer(serializers.Serializer):
    ancestors = PostSerializer(many=True)
    post = PostSerializer()
    descendants = PostSerializer(many=True)


class RelationshipSerializer(serializers.Serializer):
    following = serializers.BooleanField()
    followed_by = serializers.BooleanField()
    blocking = serializers.BooleanField()
    muting = serializers.BooleanField()


class SignupSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=30)
    password = serializers.CharField(write_only=True, max_length=128, style={"input_type": "password"})
    email = serializers.EmailField(required=False, allow_blank=True, default="")


class ProfileUpdateSerializer(serializers.Serializer):
    display_name = serializers.CharField(required=False, allow_blank=True, max_length=50)
    bio = serializers.CharField(required=False, allow_blank=True, max_length=500)


class AccessTokenSerializer(serializers.ModelSerializer):
    class Meta:
        model = AccessToken
        fields = ["id", "name", "created_at", "last_used_at"]
        read_only_fields = ["id", "created_at", "last_used_at"]


class NewAccessTokenSerializer(AccessTokenSerializer):
    token = serializers.CharField(read_only=True, help_text="Shown once: store it now.")

    class Meta(AccessTokenSerializer.Meta):
        fields = [*AccessTokenSerializer.Meta.fields, "token"]


class NotificationSerializer(serializers.ModelSerializer):
    actor = AccountSerializer(read_only=True, allow_null=True)
    kind = serializers.ChoiceField(choices=NotificationKind.choices, read_only=True)
    post_id = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta:
        model = Notification
        fields = ["id", "kind", "actor", "post_id", "message", "created_at", "read_at"]
        read_only_fields = fields


class UnreadCountSerializer(serializers.Serializer):
    unread = serializers.IntegerField()


def page_serializer(item_serializer, name: str):
    """The envelope every list endpoint returns: ``results`` and the ``next`` page's URL."""
    return type(
        name,
        (serializers.Serializer,),
        {
            "results": item_serializer(many=True),
            "next": serializers.CharField(allow_null=True, help_text="URL of the next (older) page."),
        },
    )


PostPageSerializer = page_serializer(PostSerializer, "PostPage")
NotificationPageSerializer = page_serializer(NotificationSerializer, "NotificationPage")
AccountListSerializer = page_serializer(AccountSerializer, "AccountPage")


class SearchResultSerializer(serializers.Serializer):
    accounts = AccountSerializer(many=True)
    posts = PostSerializer(many=True)
    next = serializers.CharField(allow_null=True)
