"""Timelines: home, public (all of Holdfast is local) and hashtag, paged as Mastodon pages."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from microblog.posts import timelines

from .. import params, schema
from ..base import MastodonView, Range, paged
from .common import statuses_response

TAGS = ["timelines"]


class HomeView(MastodonView):
    required_scopes = {"GET": "read:statuses"}

    @extend_schema(parameters=schema.PAGING, responses=schema.ok(schema.STATUSES), tags=TAGS)
    def get(self, request: Request) -> Response:
        paging = Range(request)
        page = timelines.home(
            request.user, paging.max_id, paging.limit, after=paging.after, oldest_first=paging.oldest_first
        )
        return statuses_response(request, page, paging)


class PublicView(MastodonView):
    public_methods = ("GET",)
    required_scopes = {"GET": "read:statuses"}

    @extend_schema(
        parameters=[
            *schema.PAGING,
            OpenApiParameter("local", bool),
            OpenApiParameter("remote", bool, description="Holdfast does not federate: always empty."),
            OpenApiParameter("only_media", bool),
        ],
        responses=schema.ok(schema.STATUSES),
        tags=TAGS,
    )
    def get(self, request: Request) -> Response:
        paging = Range(request)
        if params.boolean(request.query_params, "remote"):
            return paged(request, [], None, None)
        page = timelines.public(
            request.user, paging.max_id, paging.limit, after=paging.after, oldest_first=paging.oldest_first
        )
        return statuses_response(request, page, paging)


class TagView(MastodonView):
    public_methods = ("GET",)
    required_scopes = {"GET": "read:statuses"}

    @extend_schema(parameters=schema.PAGING, responses=schema.ok(schema.STATUSES), tags=TAGS)
    def get(self, request: Request, hashtag: str) -> Response:
        paging = Range(request)
        page = timelines.hashtag(
            request.user,
            hashtag[:100],
            paging.max_id,
            paging.limit,
            after=paging.after,
            oldest_first=paging.oldest_first,
        )
        return statuses_response(request, page, paging)
