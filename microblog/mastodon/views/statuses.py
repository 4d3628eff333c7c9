"""Statuses: post (with Idempotency-Key), read, edit, delete, and act on them."""

import hashlib
import json

from django.db import IntegrityError, transaction
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from microblog.posts import services as posts
from microblog.posts import timelines

from .. import entities, params, schema
from ..base import MastodonView, Range, id_param, limit_param
from ..entities import iso_datetime
from ..models import IdempotentPost
from .common import accounts_response, single_status, status_dict, viewer_state

TAGS = ["statuses"]
MAX_IDEMPOTENCY_KEY = 200

STATUS_FORM = {
    "type": "object",
    "properties": {
        "status": {"type": "string"},
        "media_ids": {"type": "array", "items": {"type": "string"}, "maxItems": 4},
        "in_reply_to_id": {"type": "string"},
        "sensitive": {"type": "boolean"},
        "spoiler_text": {"type": "string", "maxLength": 200},
        "visibility": {"type": "string", "enum": ["public", "unlisted", "private", "direct"]},
        "language": {"type": "string"},
    },
}


def _visibility(data) -> str:
    raw = params.text(data, "visibility", default="public", max_length=20) or "public"
    if raw in entities.VISIBILITY_FROM_MASTODON:
        return entities.VISIBILITY_FROM_MASTODON[raw]
    if raw in ("unlisted", "direct"):
        raise ValidationError({"visibility": f"{raw} is not offered here: use public or private"})
    raise ValidationError({"visibility": "is not included in the list"})


def _refuse_unsupported(data) -> None:
    for name in ("poll", "scheduled_at"):
        if data.get(name) not in (None, "", {}) or params.values(data, f"{name}[options]"):
            raise ValidationError({name: "is not supported by this server"})


class StatusCreateView(MastodonView):
    required_scopes = {"POST": "write:statuses"}
    throttle_scope = "posting"
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    @extend_schema(
        request={"application/json": STATUS_FORM, "application/x-www-form-urlencoded": STATUS_FORM},
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER)],
        responses=schema.ok(schema.STATUS),
        tags=TAGS,
    )
    def post(self, request: Request) -> Response:
        data = params.as_object(request.data)
        _refuse_unsupported(data)
        values = {
            "text": params.text(data, "status", max_length=100_000) or "",
            "content_warning": params.text(data, "spoiler_text", max_length=10_000) or "",
            "visibility": _visibility(data),
            "in_reply_to": params.optional_id(data, "in_reply_to_id"),
            "attachment_ids": params.ids(data, "media_ids", max_items=10),
        }
        key = request.headers.get("Idempotency-Key")
        if key is None:
            post = posts.create_post(request.user, **values)
        else:
            post = self._create_once(request, key, values)
            if post is None:  # the same request again: the post it made the first time
                existing = IdempotentPost.objects.get(user=request.user, key=key)
                return single_status(request, existing.post_id)
        shown = timelines.new_own_post(post, with_media=bool(values["attachment_ids"]))
        return Response(status_dict(request, shown))

    def _create_once(self, request: Request, key: str, values: dict):
        """Create the post unless this key made one already (then None). The same key with
        other content is a client's bug: it is refused rather than guessed at."""
        if not key.strip() or len(key) > MAX_IDEMPOTENCY_KEY:
            raise ValidationError({"idempotency_key": f"must be 1 to {MAX_IDEMPOTENCY_KEY} characters"})
        fingerprint = hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()
        earlier = IdempotentPost.objects.filter(user=request.user, key=key).first()
        if earlier is not None:
            if earlier.fingerprint != fingerprint:
                raise ValidationError({"idempotency_key": "was already used for a different status"})
            return None
        try:
            with transaction.atomic():
                post = posts.create_post(request.user, **values)
                IdempotentPost.objects.create(user=request.user, key=key, fingerprint=fingerprint, post=post)
        except IntegrityError:  # two requests with one key raced: the first one won
            return None
        return post


class StatusView(MastodonView):
    public_methods = ("GET",)
    required_scopes = {"GET": "read:statuses", "PUT": "write:statuses", "DELETE": "write:statuses"}
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    @extend_schema(responses=schema.ok(schema.STATUS), tags=TAGS)
    def get(self, request: Request, status_id: str) -> Response:
        return single_status(request, _id(status_id))

    @extend_schema(request={"application/json": STATUS_FORM}, responses=schema.ok(schema.STATUS), tags=TAGS)
    def put(self, request: Request, status_id: str) -> Response:
        data = params.as_object(request.data)
        post = posts.get_own_post(request.user, _id(status_id))
        if "media_ids" in data or "media_ids[]" in data:
            wanted = params.ids(data, "media_ids", max_items=10)
            current = [a.pk for a in post.attachments.all()]
            if wanted != current:
                raise ValidationError({"media_ids": "cannot be changed by an edit here"})
        posts.edit_post(
            request.user,
            post.pk,
            text=params.text(data, "status", max_length=100_000) or "",
            content_warning=params.text(data, "spoiler_text", default=None, max_length=10_000),
        )
        return single_status(request, post.pk)

    @extend_schema(responses=schema.ok(schema.STATUS), tags=TAGS)
    def delete(self, request: Request, status_id: str) -> Response:
        post = posts.get_own_post(request.user, _id(status_id))
        shown = status_dict(request, post)
        posts.delete_post(request.user, post.pk)
        shown["text"] = post.text  # Mastodon returns the source, for "delete and redraft"
        return Response(shown)


def _id(raw: str) -> int:
    if not raw.isdigit():
        from django.http import Http404

        raise Http404
    return int(raw)


class ContextView(MastodonView):
    public_methods = ("GET",)
    required_scopes = {"GET": "read:statuses"}

    @extend_schema(responses=schema.ok(schema.CONTEXT), tags=TAGS)
    def get(self, request: Request, status_id: str) -> Response:
        thread = timelines.thread(request.user, _id(status_id))
        ctx = self.context()
        shown = [*thread.ancestors, *[p for p, _ in thread.descendants]]
        page = timelines.Page(items=shown, liked_ids=thread.liked_ids, reposted_ids=thread.reposted_ids)
        state = viewer_state(request, page)
        state.mentions = entities.load_mentions(shown)
        return Response(
            {
                "ancestors": [entities.status(p, ctx, state) for p in thread.ancestors],
                "descendants": [entities.status(p, ctx, state) for p, _ in thread.descendants],
            }
        )


class HistoryView(MastodonView):
    public_methods = ("GET",)
    required_scopes = {"GET": "read:statuses"}

    @extend_schema(responses=schema.ok({"type": "array", "items": schema.STATUS_EDIT}), tags=TAGS)
    def get(self, request: Request, status_id: str) -> Response:
        post, edits = posts.history(request.user, _id(status_id))
        ctx = self.context()
        author = entities.account(post.author, ctx)
        media = [entities.media_attachment(a, ctx) for a in post.attachments.all()]
        # Oldest version first, the current one last, as Mastodon lists them.
        versions = [
            {"content": edit.text, "spoiler_text": edit.content_warning, "created_at": edit.created_at}
            for edit in reversed(edits)
        ]
        versions.append(
            {
                "content": post.html,
                "spoiler_text": post.content_warning,
                "created_at": post.edited_at or post.created_at,
            }
        )

        return Response(
            [
                {
                    "content": v["content"],
                    "spoiler_text": v["spoiler_text"],
                    "sensitive": bool(v["spoiler_text"]),
                    "created_at": iso_datetime(v["created_at"]),
                    "account": author,
                    "media_attachments": media,
                    "emojis": [],
                }
                for v in versions
            ]
        )


class SourceView(MastodonView):
    required_scopes = {"GET": "read:statuses"}

    @extend_schema(responses=schema.ok({"type": "object"}), tags=TAGS)
    def get(self, request: Request, status_id: str) -> Response:
        post = posts.get_own_post(request.user, _id(status_id))
        return Response({"id": str(post.pk), "text": post.text, "spoiler_text": post.content_warning})


class StatusActionView(MastodonView):
    action: str = ""
    handlers = {
        "favourite": (posts.like, "write:favourites"),
        "unfavourite": (posts.unlike, "write:favourites"),
        "reblog": (posts.repost, "write:statuses"),
        "unreblog": (posts.unrepost, "write:statuses"),
        "bookmark": (posts.bookmark, "write:bookmarks"),
        "unbookmark": (posts.unbookmark, "write:bookmarks"),
    }

    def get_permissions(self):
        self.required_scopes = {"POST": self.handlers[self.action][1]}
        return super().get_permissions()

    @extend_schema(request=None, responses=schema.ok(schema.STATUS), tags=TAGS)
    def post(self, request: Request, status_id: str) -> Response:
        post_id = _id(status_id)
        handler, _ = self.handlers[self.action]
        result = handler(request.user, post_id)
        if self.action == "reblog":  # the new repost, wrapping the original
            return single_status(request, result.pk)
        original = timelines.get_visible_post(request.user, post_id)
        return single_status(request, original.repost_of_id or original.pk)


class InteractedView(MastodonView):
    kind = "like"
    public_methods = ("GET",)
    required_scopes = {"GET": "read:accounts"}

    @extend_schema(parameters=schema.PAGING, responses=schema.ok(schema.ACCOUNTS), tags=TAGS)
    def get(self, request: Request, status_id: str) -> Response:
        people, cursor = timelines.who_interacted(
            request.user, _id(status_id), self.kind, id_param(request, "max_id"), limit_param(request, 40, 80)
        )
        return accounts_response(request, people, cursor)


class BookmarksView(MastodonView):
    required_scopes = {"GET": "read:bookmarks"}

    @extend_schema(parameters=schema.PAGING, responses=schema.ok(schema.STATUSES), tags=TAGS)
    def get(self, request: Request) -> Response:
        from .common import statuses_response

        paging = Range(request)
        return statuses_response(
            request, timelines.bookmarked(request.user, paging.max_id, paging.limit), paging
        )


class FavouritesView(MastodonView):
    required_scopes = {"GET": "read:favourites"}

    @extend_schema(parameters=schema.PAGING, responses=schema.ok(schema.STATUSES), tags=TAGS)
    def get(self, request: Request) -> Response:
        from .common import statuses_response

        paging = Range(request)
        return statuses_response(request, timelines.liked(request.user, paging.max_id, paging.limit), paging)
