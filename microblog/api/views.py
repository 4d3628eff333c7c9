"""REST API views: parse and check the request, call the service layer, serialise."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, status
from rest_framework.exceptions import ValidationError as DRFValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from microblog.accounts import services as accounts
from microblog.accounts.models import AccessToken
from microblog.ids import MAX_OBJECT_ID
from microblog.notifications import services as notifications
from microblog.posts import search as post_search
from microblog.posts import services as posts
from microblog.posts import timelines
from microblog.posts.media import store_attachment

from . import representations
from . import serializers as s

BEFORE = OpenApiParameter("before", int, description="Show items older than this id (cursor).")
LIMIT = OpenApiParameter("limit", int, description="Items per page, 1 to 40 (default 20).")


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


def _paging(request: Request) -> tuple[int | None, int]:
    return int_query_param(request, "before", None, 1, MAX_OBJECT_ID), int_query_param(
        request, "limit", 20, 1, 40
    )


def next_page_url(request: Request, cursor: int | None) -> str | None:
    if cursor is None:
        return None
    query = request.query_params.copy()
    query["before"] = str(cursor)
    return request.build_absolute_uri(f"{request.path}?{query.urlencode()}")


def _post_context(page) -> dict:
    return {"liked_ids": page.liked_ids, "reposted_ids": page.reposted_ids}


def _page_posts(page) -> list[dict]:
    # What PostSerializer(many=True) renders (it calls the same function), without building
    # two serializers per response on the busiest endpoints.
    return representations.posts_representation(page.items, page.liked_ids, page.reposted_ids)


def _page_response(request: Request, page: timelines.Page) -> Response:
    return Response({"results": _page_posts(page), "next": next_page_url(request, page.next_cursor)})


def _single_post(request: Request, post_id: int, status_code: int = 200) -> Response:
    page = timelines.Page(items=[timelines.get_visible_post(request.user, post_id)])
    timelines.annotate_viewer_state(page, request.user)
    return Response(s.PostSerializer(page.items[0], context=_post_context(page)).data, status=status_code)


# Accounts -----------------------------------------------------------------------------------


class SignupView(APIView):
    permission_classes = [permissions.AllowAny]
    throttle_scope = "signup"

    @extend_schema(request=s.SignupSerializer, responses={201: s.AccountSerializer}, tags=["accounts"])
    def post(self, request: Request) -> Response:
        data = s.SignupSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = accounts.sign_up(**data.validated_data)
        return Response(s.AccountSerializer(user).data, status=status.HTTP_201_CREATED)


class MeView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses=s.AccountSerializer, tags=["accounts"])
    def get(self, request: Request) -> Response:
        return Response(s.AccountSerializer(request.user).data)

    @extend_schema(request=s.ProfileUpdateSerializer, responses=s.AccountSerializer, tags=["accounts"])
    def patch(self, request: Request) -> Response:
        data = s.ProfileUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        user = accounts.update_profile(request.user, **data.validated_data)
        return Response(s.AccountSerializer(user).data)


class AvatarView(APIView):
    permission_classes = [permissions.IsAuthenticated]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request={"multipart/form-data": s.MediaUploadSerializer},
        responses=s.AccountSerializer,
        tags=["accounts"],
    )
    def put(self, request: Request) -> Response:
        data = s.MediaUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = accounts.update_profile(request.user, avatar=data.validated_data["file"])
        return Response(s.AccountSerializer(user).data)


class AccountView(APIView):
    @extend_schema(responses=s.AccountSerializer, tags=["accounts"])
    def get(self, request: Request, username: str) -> Response:
        return Response(s.AccountSerializer(accounts.get_account(username)).data)


class AccountPostsView(APIView):
    @extend_schema(parameters=[BEFORE, LIMIT], responses=s.PostPageSerializer, tags=["accounts"])
    def get(self, request: Request, username: str) -> Response:
        before, limit = _paging(request)
        account = accounts.get_account(username)
        return _page_response(request, timelines.profile(request.user, account, before, limit))


class AccountFollowsView(APIView):
    direction = "followers"

    @extend_schema(parameters=[BEFORE, LIMIT], responses=s.AccountListSerializer, tags=["accounts"])
    def get(self, request: Request, username: str) -> Response:
        before, limit = _paging(request)
        account = accounts.get_account(username)
        people, cursor = accounts.follow_list(account, self.direction, before, limit)
        return Response(
            {"results": s.AccountSerializer(people, many=True).data, "next": next_page_url(request, cursor)}
        )


class RelationshipView(APIView):
    permission_classes = [permissions.IsAuthenticated]
    action: str = ""
    handlers = {
        "follow": accounts.follow,
        "unfollow": accounts.unfollow,
        "block": accounts.block,
        "unblock": accounts.unblock,
        "mute": accounts.mute,
        "unmute": accounts.unmute,
    }

    @extend_schema(request=None, responses=s.RelationshipSerializer, tags=["accounts"])
    def post(self, request: Request, username: str) -> Response:
        account = accounts.get_account(username)
        self.handlers[self.action](request.user, account)
        return Response(accounts.relationship(request.user, account))


class RelationshipStateView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses=s.RelationshipSerializer, tags=["accounts"])
    def get(self, request: Request, username: str) -> Response:
        return Response(accounts.relationship(request.user, accounts.get_account(username)))


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


# Posts --------------------------------------------------------------------------------------


class PostListView(APIView):
    permission_classes = [permissions.IsAuthenticated]
    throttle_scope = "posting"

    @extend_schema(request=s.PostCreateSerializer, responses={201: s.PostSerializer}, tags=["posts"])
    def post(self, request: Request) -> Response:
        data = s.PostCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        post = posts.create_post(
            request.user,
            text=values["text"],
            content_warning=values["content_warning"],
            visibility=values["visibility"],
            in_reply_to=values["in_reply_to_id"],
            attachment_ids=values["attachment_ids"],
        )
        shown = timelines.new_own_post(post, with_media=bool(values["attachment_ids"]))
        return Response(s.PostSerializer(shown).data, status=status.HTTP_201_CREATED)


class PostDetailView(APIView):
    @extend_schema(responses=s.PostSerializer, tags=["posts"])
    def get(self, request: Request, post_id: int) -> Response:
        return _single_post(request, post_id)

    @extend_schema(request=s.PostEditSerializer, responses=s.PostSerializer, tags=["posts"])
    def patch(self, request: Request, post_id: int) -> Response:
        data = s.PostEditSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        posts.edit_post(request.user, post_id, **data.validated_data)
        return _single_post(request, post_id)

    @extend_schema(responses={204: None}, tags=["posts"])
    def delete(self, request: Request, post_id: int) -> Response:
        posts.delete_post(request.user, post_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PostContextView(APIView):
    @extend_schema(responses=s.ThreadSerializer, tags=["posts"])
    def get(self, request: Request, post_id: int) -> Response:
        thread = timelines.thread(request.user, post_id)
        context = {"liked_ids": thread.liked_ids, "reposted_ids": thread.reposted_ids}
        return Response(
            {
                "ancestors": s.PostSerializer(thread.ancestors, many=True, context=context).data,
                "post": s.PostSerializer(thread.post, context=context).data,
                "descendants": s.PostSerializer(
                    [p for p, _ in thread.descendants], many=True, context=context
                ).data,
            }
        )


class PostHistoryView(APIView):
    @extend_schema(responses=s.PostEditHistorySerializer(many=True), tags=["posts"])
    def get(self, request: Request, post_id: int) -> Response:
        _, edits = posts.history(request.user, post_id)
        return Response(s.PostEditHistorySerializer(edits, many=True).data)


class PostActionView(APIView):
    permission_classes = [permissions.IsAuthenticated]
    action: str = ""
    handlers = {
        "like": posts.like,
        "unlike": posts.unlike,
        "repost": posts.repost,
        "unrepost": posts.unrepost,
    }

    @extend_schema(request=None, responses=s.PostSerializer, tags=["posts"])
    def post(self, request: Request, post_id: int) -> Response:
        self.handlers[self.action](request.user, post_id)
        original = timelines.get_visible_post(request.user, post_id)
        return _single_post(request, original.repost_of_id or original.pk)


class MediaView(APIView):
    permission_classes = [permissions.IsAuthenticated]
    parser_classes = [MultiPartParser, FormParser]
    throttle_scope = "posting"

    @extend_schema(
        request={"multipart/form-data": s.MediaUploadSerializer},
        responses={201: s.AttachmentSerializer},
        tags=["posts"],
        description="Upload an image; attach it by passing its id in `attachment_ids` when posting.",
    )
    def post(self, request: Request) -> Response:
        data = s.MediaUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        attachment = store_attachment(
            request.user, data.validated_data["file"], data.validated_data["alt_text"]
        )
        return Response(s.AttachmentSerializer(attachment).data, status=status.HTTP_201_CREATED)


# Timelines, notifications, search -----------------------------------------------------------


class HomeTimelineView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(parameters=[BEFORE, LIMIT], responses=s.PostPageSerializer, tags=["timelines"])
    def get(self, request: Request) -> Response:
        before, limit = _paging(request)
        return _page_response(request, timelines.home(request.user, before, limit))


class PublicTimelineView(APIView):
    @extend_schema(parameters=[BEFORE, LIMIT], responses=s.PostPageSerializer, tags=["timelines"])
    def get(self, request: Request) -> Response:
        before, limit = _paging(request)
        return _page_response(request, timelines.public(request.user, before, limit))


class HashtagTimelineView(APIView):
    @extend_schema(parameters=[BEFORE, LIMIT], responses=s.PostPageSerializer, tags=["timelines"])
    def get(self, request: Request, name: str) -> Response:
        before, limit = _paging(request)
        return _page_response(request, timelines.hashtag(request.user, name, before, limit))


class NotificationListView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(parameters=[BEFORE, LIMIT], responses=s.NotificationPageSerializer, tags=["notifications"])
    def get(self, request: Request) -> Response:
        before, limit = _paging(request)
        items, cursor = notifications.for_user(request.user, before, limit)
        return Response(
            {
                "results": s.NotificationSerializer(items, many=True).data,
                "next": next_page_url(request, cursor),
            }
        )


class NotificationUnreadView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses=s.UnreadCountSerializer, tags=["notifications"])
    def get(self, request: Request) -> Response:
        return Response({"unread": notifications.unread_count(request.user)})


class NotificationReadView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=None, responses=s.UnreadCountSerializer, tags=["notifications"])
    def post(self, request: Request) -> Response:
        notifications.mark_all_read(request.user)
        return Response({"unread": 0})


class SearchView(APIView):
    throttle_scope = "search"

    @extend_schema(
        parameters=[
            OpenApiParameter("q", str, required=True, description="Words to look for."),
            BEFORE,
            LIMIT,
        ],
        responses=s.SearchResultSerializer,
        tags=["search"],
    )
    def get(self, request: Request) -> Response:
        query = request.query_params.get("q", "")
        if not query.strip():
            raise DRFValidationError({"q": "Give something to search for."})
        if len(query) > post_search.MAX_QUERY_LENGTH:
            raise DRFValidationError({"q": f"At most {post_search.MAX_QUERY_LENGTH} characters."})
        before, limit = _paging(request)
        page = post_search.search_posts(request.user, query, before, limit)
        people = post_search.search_accounts(query, limit=5) if before is None else []
        return Response(
            {
                "accounts": s.AccountSerializer(people, many=True).data,
                "posts": _page_posts(page),
                "next": next_page_url(request, page.next_cursor),
            }
        )
