"""Search for posts and accounts.

On PostgreSQL: full-text search over GIN expression indexes (see the migrations); the
query expressions here must stay identical to the indexed ones or the index goes unused.
Elsewhere (SQLite, the embedded default): every word must appear, case-insensitively.
"""

import re

from django.contrib.auth import get_user_model
from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db import connection
from django.db.models import Q

from .timelines import Page, paginate, visible_posts

POST_SEARCH_CONFIG = "english"
ACCOUNT_SEARCH_CONFIG = "simple"
MAX_QUERY_LENGTH = 200


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def clean_query(query: str) -> str:
    """What people typed, without control characters (no text holds them; PostgreSQL
    refuses a NUL outright), trimmed and cut to ``MAX_QUERY_LENGTH``."""
    return _CONTROL.sub(" ", query).strip()[:MAX_QUERY_LENGTH]


def _words(query: str) -> list[str]:
    return re.findall(r"\w+", query)[:10]


def search_posts(viewer, query: str, before: int | None = None, limit: int = 20) -> Page:
    query = clean_query(query)
    words = _words(query)
    qs = visible_posts(viewer, include_mutes=True).filter(repost_of__isnull=True)
    if not words:
        return Page(items=[])
    if connection.vendor == "postgresql":
        qs = qs.annotate(search=SearchVector("text", config=POST_SEARCH_CONFIG)).filter(
            search=SearchQuery(query, config=POST_SEARCH_CONFIG, search_type="websearch")
        )
    else:
        for word in words:
            qs = qs.filter(text__icontains=word)
    return paginate(qs, viewer, before, limit)


def search_accounts(query: str, limit: int = 20) -> list:
    User = get_user_model()
    words = [w.lower() for w in _words(clean_query(query))]
    if not words:
        return []
    qs = User.objects.filter(is_active=True)
    if connection.vendor == "postgresql":
        # Prefix match on every word, so "ali" finds @alice as people type.
        tsquery = " & ".join(f"{w}:*" for w in words)
        qs = qs.annotate(
            search=SearchVector("username", "display_name", config=ACCOUNT_SEARCH_CONFIG)
        ).filter(search=SearchQuery(tsquery, config=ACCOUNT_SEARCH_CONFIG, search_type="raw"))
    else:
        for word in words:
            qs = qs.filter(Q(username__icontains=word) | Q(display_name__icontains=word))
    return list(qs.order_by("-followers_count", "id")[:limit])


def search_hashtags(query: str, limit: int = 20) -> list[str]:
    """Names of hashtags starting with the query's first word (without ``#``), most used first."""
    from django.db.models import Count

    from .models import Hashtag

    words = _words(clean_query(query).lstrip("#"))
    if not words:
        return []
    return list(
        Hashtag.objects.filter(name__startswith=words[0].lower())
        .annotate(uses=Count("posthashtag"))
        .order_by("-uses", "name")
        .values_list("name", flat=True)[:limit]
    )
