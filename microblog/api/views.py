"""Holdfast's own API, for what Mastodon's client API has no equivalent of: personal access
tokens (and, from ``moderation.api_urls``, moderation). Served under /api/holdfast/v1/;
everything else a client needs is the Mastodon API (``microblog.mastodon``)."""

from drf_spectacular.utils import extend_schema
from rest_framework import permissions, status
from rest_framework.exceptions import ValidationError as DRFValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from microblog.accounts import services as accounts
from microblog.accounts.models import AccessToken

from . import serializers as s


def int_query_param(request: Request, name: str, default: int | None, lo: int, hi: int) -> int | None:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise DRFValidationError({name: "Must be a whole number."}) from None
    if not lo <= value <= hi:
        raise DRFValidationError({name: f"Must be between {lo} and {hi}."})
    return value


def next_page_url(request: Request, cursor: int | None) -> str | None:
    if cursor is None:
        return None
    query = request.query_params.copy()
    query["before"] = str(cursor)
    return request.build_absolute_uri(f"{request.path}?{query.urlencode()}")


class TokenListView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses=s.AccessTokenSerializer(many=True), tags=["accounts"])
    def get(self, request: Request) -> Response:
        return Response(
            s.AccessTokenSerializer(AccessToken.objects.filter(user=request.user), many=True).data
        )

    @extend_schema(
        request=s.AccessTokenSerializer, responses={201: s.NewAccessTokenSerializer}, tags=["accounts"]
    )
    def post(self, request: Request) -> Response:
        data = s.AccessTokenSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        token, raw = accounts.create_access_token(request.user, data.validated_data["name"])
        token.token = raw
        return Response(s.NewAccessTokenSerializer(token).data, status=status.HTTP_201_CREATED)


class TokenDetailView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses={204: None}, tags=["accounts"])
    def delete(self, request: Request, token_id: int) -> Response:
        accounts.revoke_access_token(request.user, token_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PostModerationView(APIView):
    """Where a post stands in moderation: Holdfast's own (Mastodon's Status has no such field).
    Whoever may see the post may see this; authors use it to know when others see theirs."""

    permission_classes = [permissions.IsAuthenticatedOrReadOnly]

    @extend_schema(responses=s.PostModerationSerializer, tags=["moderation"])
    def get(self, request: Request, post_id: int) -> Response:
        from microblog.posts.timelines import get_visible_post

        post = get_visible_post(request.user, post_id)
        return Response({"id": str(post.pk), "moderation_state": post.moderation_state})
