"""Accounts: the token owner's own, anyone's profile and posts, and the social graph."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from microblog.accounts import services as accounts
from microblog.posts import search as post_search
from microblog.posts import timelines

from .. import entities, params, schema
from ..base import MastodonView, Range, id_param, limit_param
from .common import accounts_response, statuses_response

TAGS = ["accounts"]


def _account_response(request: Request, user) -> Response:
    return Response(entities.account(user, entities.for_request(request)))


class VerifyCredentialsView(MastodonView):
    required_scopes = {"GET": "read:accounts"}

    @extend_schema(responses=schema.ok(schema.CREDENTIAL_ACCOUNT), tags=TAGS)
    def get(self, request: Request) -> Response:
        return Response(entities.credential_account(request.user, self.context()))


class UpdateCredentialsView(MastodonView):
    required_scopes = {"PATCH": "write:accounts"}
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @extend_schema(
        request={
            "multipart/form-data": {
                "type": "object",
                "properties": {
                    "display_name": {"type": "string", "maxLength": 50},
                    "note": {"type": "string", "maxLength": 500},
                    "avatar": {"type": "string", "format": "binary"},
                },
            },
        },
        responses=schema.ok(schema.CREDENTIAL_ACCOUNT),
        tags=TAGS,
    )
    def patch(self, request: Request) -> Response:
        data = params.as_object(request.data)
        changes = {}
        if "display_name" in data:
            changes["display_name"] = params.text(data, "display_name", max_length=50)
        if "note" in data:
            changes["bio"] = params.text(data, "note", max_length=500)
        if request.FILES.get("avatar"):
            changes["avatar"] = request.FILES["avatar"]
        user = accounts.update_profile(request.user, **changes) if changes else request.user
        return Response(entities.credential_account(user, self.context()))


class RegisterView(MastodonView):
    """Sign up through an app (its client-credentials token), as Mastodon's apps do."""

    throttle_scope = "signup"
    public_methods = ("POST",)
    required_scopes = {"POST": "write:accounts"}

    @extend_schema(
        request={
            "application/json": {
                "type": "object",
                "properties": {
                    "username": {"type": "string"},
                    "password": {"type": "string"},
                    "email": {"type": "string"},
                    "agreement": {"type": "boolean"},
                    "locale": {"type": "string"},
                },
                "required": ["username", "password"],
            }
        },
        responses=schema.ok(schema.TOKEN),
        tags=TAGS,
        description="Create an account and a token for the app making the request.",
    )
    def post(self, request: Request) -> Response:
        from ..applications import token_for_new_account

        grant = request.auth
        if getattr(grant, "kind", None) != "oauth" or grant.application_id is None:
            raise ValidationError("This method requires an app token (client credentials)")
        data = params.as_object(request.data)
        user = accounts.sign_up(
            username=params.text(data, "username", max_length=30) or "",
            password=params.text(data, "password", max_length=128) or "",
            email=params.text(data, "email", max_length=254) or "",
        )
        return Response(token_for_new_account(user, grant))


class AccountView(MastodonView):
    public_methods = ("GET",)
    required_scopes = {"GET": "read:accounts"}

    @extend_schema(responses=schema.ok(schema.ACCOUNT), tags=TAGS)
    def get(self, request: Request, account_id: str) -> Response:
        return _account_response(request, accounts.get_account_by_id(account_id))


class LookupView(MastodonView):
    public_methods = ("GET",)
    required_scopes = {"GET": "read:accounts"}

    @extend_schema(
        parameters=[OpenApiParameter("acct", str, required=True, description="username or username@host")],
        responses=schema.ok(schema.ACCOUNT),
        tags=TAGS,
    )
    def get(self, request: Request) -> Response:
        acct = request.query_params.get("acct", "").lstrip("@")
        username, _, host = acct.partition("@")
        if not username or (host and host != request.get_host()):
            return Response({"error": "Record not found"}, status=404)
        return _account_response(request, accounts.get_account(username))


class AccountStatusesView(MastodonView):
    public_methods = ("GET",)
    required_scopes = {"GET": "read:statuses"}

    @extend_schema(
        parameters=[
            *schema.PAGING,
            OpenApiParameter("exclude_replies", bool),
            OpenApiParameter("exclude_reblogs", bool),
            OpenApiParameter("only_media", bool),
            OpenApiParameter("pinned", bool),
        ],
        responses=schema.ok(schema.STATUSES),
        tags=TAGS,
    )
    def get(self, request: Request, account_id: str) -> Response:
        paging = Range(request)
        account = accounts.get_account_by_id(account_id)
        query = request.query_params
        if params.boolean(query, "pinned"):  # Holdfast has no pinned posts
            return Response([])
        page = timelines.profile(
            request.user,
            account,
            paging.max_id,
            paging.limit,
            after=paging.after,
            oldest_first=paging.oldest_first,
            exclude_replies=params.boolean(query, "exclude_replies"),
            exclude_reposts=params.boolean(query, "exclude_reblogs"),
            only_media=params.boolean(query, "only_media"),
        )
        return statuses_response(request, page, paging)


class FollowsView(MastodonView):
    direction = "followers"
    public_methods = ("GET",)
    required_scopes = {"GET": "read:accounts"}

    @extend_schema(parameters=schema.PAGING, responses=schema.ok(schema.ACCOUNTS), tags=TAGS)
    def get(self, request: Request, account_id: str) -> Response:
        account = accounts.get_account_by_id(account_id)
        people, cursor = accounts.follow_list(
            account, self.direction, id_param(request, "max_id"), limit_param(request, 40, 80)
        )
        return accounts_response(request, people, cursor)


class RelationshipActionView(MastodonView):
    action: str = ""
    handlers = {
        "follow": accounts.follow,
        "unfollow": accounts.unfollow,
        "block": accounts.block,
        "unblock": accounts.unblock,
        "mute": accounts.mute,
        "unmute": accounts.unmute,
    }
    scopes = {
        "follow": "write:follows",
        "unfollow": "write:follows",
        "block": "write:blocks",
        "unblock": "write:blocks",
        "mute": "write:mutes",
        "unmute": "write:mutes",
    }

    def get_permissions(self):
        self.required_scopes = {"POST": self.scopes[self.action]}
        return super().get_permissions()

    @extend_schema(request=None, responses=schema.ok(schema.RELATIONSHIP), tags=TAGS)
    def post(self, request: Request, account_id: str) -> Response:
        account = accounts.get_account_by_id(account_id)
        self.handlers[self.action](request.user, account)
        rel = accounts.relationships(request.user, [account])[account.pk]
        return Response(entities.relationship(account.pk, rel))


class RelationshipsView(MastodonView):
    required_scopes = {"GET": "read:follows"}

    @extend_schema(
        parameters=[OpenApiParameter("id[]", str, many=True, description="Account ids.")],
        responses=schema.ok({"type": "array", "items": schema.RELATIONSHIP}),
        tags=TAGS,
    )
    def get(self, request: Request) -> Response:
        wanted = params.ids(request.query_params, "id")
        found = {user.pk: user for user in accounts.User.objects.filter(pk__in=wanted, is_active=True)}
        rels = accounts.relationships(request.user, list(found.values()))
        return Response([entities.relationship(pk, rels[pk]) for pk in wanted if pk in found])


class AccountSearchView(MastodonView):
    throttle_scope = "search"
    required_scopes = {"GET": "read:accounts"}

    @extend_schema(
        parameters=[OpenApiParameter("q", str, required=True), OpenApiParameter("limit", int)],
        responses=schema.ok(schema.ACCOUNTS),
        tags=TAGS,
    )
    def get(self, request: Request) -> Response:
        query = params.text(request.query_params, "q", max_length=post_search.MAX_QUERY_LENGTH) or ""
        people = post_search.search_accounts(query, limit=limit_param(request, 40, 80))
        ctx = self.context()
        return Response([entities.account(person, ctx) for person in people])


class BlocksView(MastodonView):
    required_scopes = {"GET": "read:blocks"}

    @extend_schema(parameters=schema.PAGING, responses=schema.ok(schema.ACCOUNTS), tags=TAGS)
    def get(self, request: Request) -> Response:
        people, cursor = accounts.blocked_accounts(
            request.user, id_param(request, "max_id"), limit_param(request, 40, 80)
        )
        return accounts_response(request, people, cursor)


class MutesView(MastodonView):
    required_scopes = {"GET": "read:mutes"}

    @extend_schema(parameters=schema.PAGING, responses=schema.ok(schema.ACCOUNTS), tags=TAGS)
    def get(self, request: Request) -> Response:
        people, cursor = accounts.muted_accounts(
            request.user, id_param(request, "max_id"), limit_param(request, 40, 80)
        )
        return accounts_response(request, people, cursor)
