"""Search (v2): accounts, statuses and hashtags."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from microblog.posts import search as post_search

from .. import entities, params, schema
from ..base import MastodonView, id_param, limit_param
from .common import viewer_state

TYPES = ("accounts", "statuses", "hashtags")


class SearchView(MastodonView):
    throttle_scope = "search"
    public_methods = ("GET",)
    required_scopes = {"GET": "read:search"}

    @extend_schema(
        parameters=[
            OpenApiParameter("q", str, required=True),
            OpenApiParameter("type", str, enum=list(TYPES)),
            OpenApiParameter("max_id", str),
            OpenApiParameter("limit", int),
            OpenApiParameter("offset", int),
            OpenApiParameter("resolve", bool),
        ],
        responses=schema.ok(schema.SEARCH),
        tags=["search"],
    )
    def get(self, request: Request) -> Response:
        query = params.text(request.query_params, "q", max_length=post_search.MAX_QUERY_LENGTH) or ""
        kind = request.query_params.get("type") or None
        if kind is not None and kind not in TYPES:
            raise ValidationError({"type": "is not included in the list"})
        limit = limit_param(request, 20, 40)
        offset = request.query_params.get("offset", "0")
        paging_on = offset not in ("", "0") or request.query_params.get("max_id")
        ctx = self.context()
        result = {"accounts": [], "statuses": [], "hashtags": []}
        if not query.strip():
            return Response(result)
        if kind in (None, "accounts") and not paging_on:
            result["accounts"] = [entities.account(u, ctx) for u in post_search.search_accounts(query, limit)]
        if kind in (None, "statuses"):
            page = post_search.search_posts(request.user, query, id_param(request, "max_id"), limit)
            state = viewer_state(request, page)
            result["statuses"] = entities.statuses(page.items, ctx, state)
        if kind in (None, "hashtags") and not paging_on:
            result["hashtags"] = [
                entities.tag(name, ctx) for name in post_search.search_hashtags(query, limit)
            ]
        return Response(result)
