"""Notifications and read markers."""

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, JSONParser
from rest_framework.request import Request
from rest_framework.response import Response

from microblog.notifications import services as notifications
from microblog.posts.timelines import Page, annotate_viewer_state, attach_media

from .. import entities, params, schema
from ..base import MastodonView, Range, paged
from ..entities import iso_datetime
from ..models import Marker
from .common import viewer_state

TAGS = ["notifications"]


def _kinds(types: list[str]) -> list[str]:
    return [kind for name in types for kind in entities.KINDS_FOR_TYPE.get(name, [])]


def _render(request: Request, items: list) -> list[dict]:
    shown = [item.post for item in items if item.post_id]
    page = Page(items=shown)
    attach_media(shown)
    annotate_viewer_state(page, request.user)
    state = viewer_state(request, page)
    state.mentions = entities.load_mentions(shown)
    ctx = entities.for_request(request)
    return [entities.notification(item, ctx, state) for item in items]


class NotificationListView(MastodonView):
    required_scopes = {"GET": "read:notifications"}

    @extend_schema(
        parameters=[
            *schema.PAGING,
            OpenApiParameter("types[]", str, many=True, description="Only these types."),
            OpenApiParameter("exclude_types[]", str, many=True, description="All but these types."),
        ],
        responses=schema.ok({"type": "array", "items": schema.NOTIFICATION}),
        tags=TAGS,
        operation_id="v1_notifications_list",
    )
    def get(self, request: Request) -> Response:
        paging = Range(request, default_limit=40, max_limit=80)
        query = request.query_params
        types = params.values(query, "types")
        items, _ = notifications.for_user(
            request.user,
            paging.max_id,
            paging.limit,
            after=paging.after,
            oldest_first=paging.oldest_first,
            kinds=_kinds(types) if types else None,
            exclude_kinds=_kinds(params.values(query, "exclude_types")),
        )
        newest = items[0].pk if items else None
        oldest = items[-1].pk if items else None
        return paged(request, _render(request, items), newest, oldest, has_older=len(items) >= paging.limit)


class NotificationView(MastodonView):
    required_scopes = {"GET": "read:notifications"}

    @extend_schema(responses=schema.ok(schema.NOTIFICATION), tags=TAGS)
    def get(self, request: Request, notification_id: str) -> Response:
        item = notifications.get_own(request.user, notification_id)
        return Response(_render(request, [item])[0])


class DismissView(MastodonView):
    required_scopes = {"POST": "write:notifications"}

    @extend_schema(request=None, responses=schema.ok(schema.OBJECT), tags=TAGS)
    def post(self, request: Request, notification_id: str) -> Response:
        notifications.dismiss(request.user, notification_id)
        return Response({})


class ClearView(MastodonView):
    required_scopes = {"POST": "write:notifications"}

    @extend_schema(request=None, responses=schema.ok(schema.OBJECT), tags=TAGS)
    def post(self, request: Request) -> Response:
        notifications.clear(request.user)
        return Response({})


class UnreadCountView(MastodonView):
    required_scopes = {"GET": "read:notifications"}

    @extend_schema(responses=schema.ok({"type": "object", "properties": {"count": schema.INT}}), tags=TAGS)
    def get(self, request: Request) -> Response:
        return Response({"count": notifications.unread_count(request.user)})


def _marker(marker: Marker) -> dict:
    return {
        "last_read_id": str(marker.last_read_id),
        "version": marker.version,
        "updated_at": iso_datetime(marker.updated_at),
    }


class MarkersView(MastodonView):
    required_scopes = {"GET": "read:statuses", "POST": "write:statuses"}
    parser_classes = [JSONParser, FormParser]

    @extend_schema(
        parameters=[OpenApiParameter("timeline[]", str, many=True, enum=list(Marker.TIMELINES))],
        responses=schema.ok(schema.MARKERS),
        tags=TAGS,
    )
    def get(self, request: Request) -> Response:
        wanted = [t for t in params.values(request.query_params, "timeline") if t in Marker.TIMELINES]
        markers = Marker.objects.filter(user=request.user, timeline__in=wanted)
        return Response({marker.timeline: _marker(marker) for marker in markers})

    @extend_schema(
        request={
            "application/json": {
                "type": "object",
                "properties": {
                    name: {"type": "object", "properties": {"last_read_id": {"type": "string"}}}
                    for name in Marker.TIMELINES
                },
            }
        },
        responses=schema.ok(schema.MARKERS),
        tags=TAGS,
    )
    def post(self, request: Request) -> Response:
        data = params.as_object(request.data)
        saved = {}
        for timeline in Marker.TIMELINES:
            raw = (
                data.get(timeline, {}).get("last_read_id")
                if isinstance(data.get(timeline), dict)
                else data.get(f"{timeline}[last_read_id]")
            )
            if raw in (None, ""):
                continue
            last_read_id = params.object_id(raw, f"{timeline}[last_read_id]")
            marker, created = Marker.objects.get_or_create(
                user=request.user, timeline=timeline, defaults={"last_read_id": last_read_id}
            )
            if not created:
                marker.last_read_id, marker.version = last_read_id, marker.version + 1
                marker.updated_at = timezone.now()
                marker.save()
            if timeline == "notifications":  # the site's unread count follows the apps' marker
                notifications.mark_read_up_to(request.user, last_read_id)
            saved[timeline] = _marker(marker)
        if not saved:
            raise ValidationError({"home": "give home[last_read_id] or notifications[last_read_id]"})
        return Response(saved)
