"""Serializers of Holdfast's own API (personal access tokens)."""

from rest_framework import serializers

from microblog.accounts.models import AccessToken
from microblog.posts.models import ModerationState


class AccessTokenSerializer(serializers.ModelSerializer):
    class Meta:
        model = AccessToken
        fields = ["id", "name", "created_at", "last_used_at"]
        read_only_fields = ["id", "created_at", "last_used_at"]


class NewAccessTokenSerializer(AccessTokenSerializer):
    token = serializers.CharField(read_only=True, help_text="Shown once: store it now.")

    class Meta(AccessTokenSerializer.Meta):
        fields = [*AccessTokenSerializer.Meta.fields, "token"]


class PostModerationSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="The status id, as the Mastodon API writes it.")
    moderation_state = serializers.ChoiceField(choices=ModerationState.choices)
