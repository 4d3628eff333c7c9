"""Rendering pages of posts and accounts the same way in every endpoint."""

from rest_framework.request import Request
from rest_framework.response import Response

from microblog.posts import timelines

from .. import entities
from ..base import Range, paged


def viewer_state(request: Request, page: timelines.Page) -> entities.ViewerState:
    user = request.user if request.user.is_authenticated else None
    return entities.ViewerState(
        liked_ids=page.liked_ids,
        reposted_ids=page.reposted_ids,
        bookmarked_ids=timelines.bookmarked_ids(user, page.items),
    )


def statuses_response(request: Request, page: timelines.Page, paging: Range) -> Response:
    ctx = entities.for_request(request)
    data = entities.statuses(page.items, ctx, viewer_state(request, page))
    newest = page.items[0].pk if page.items else None
    oldest = page.items[-1].pk if page.items else None
    return paged(request, data, newest, oldest, has_older=len(page.items) >= paging.limit)


def single_status(request: Request, post_id, status_code: int = 200) -> Response:
    post = timelines.get_visible_post(request.user, post_id)
    return Response(status_dict(request, post), status=status_code)


def status_dict(request: Request, post) -> dict:
    page = timelines.Page(items=[post])
    timelines.annotate_viewer_state(page, request.user)
    state = viewer_state(request, page)
    state.mentions = entities.load_mentions([post])
    return entities.status(post, entities.for_request(request), state)


def accounts_response(request: Request, people: list, cursor, newest_cursor=None) -> Response:
    """A list of accounts paged by the relation's id (follows, blocks, …), as Mastodon does."""
    ctx = entities.for_request(request)
    response = Response([entities.account(person, ctx) for person in people])
    if cursor is not None:
        params = request.query_params.copy()
        params["max_id"] = str(cursor)
        response["Link"] = f'<{request.build_absolute_uri(request.path)}?{params.urlencode()}>; rel="next"'
    return response
