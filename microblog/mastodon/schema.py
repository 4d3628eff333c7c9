"""OpenAPI schemas of Mastodon's entities, for /api/schema/ (and schemathesis's checks).

Written as JSON Schema because the entities are built as plain dicts (see entities.py).
"""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse


def _obj(properties: dict, required: list[str] | None = None, **extra) -> dict:
    return {"type": "object", "properties": properties, "required": required or list(properties), **extra}


STR = {"type": "string"}
NSTR = {"type": "string", "nullable": True}
INT = {"type": "integer"}
BOOL = {"type": "boolean"}
ARRAY = {"type": "array", "items": {}}
ERROR = _obj({"error": STR}, ["error"])

ACCOUNT = _obj(
    {
        "id": STR,
        "username": STR,
        "acct": STR,
        "url": STR,
        "display_name": STR,
        "note": STR,
        "avatar": STR,
        "avatar_static": STR,
        "header": STR,
        "locked": BOOL,
        "bot": BOOL,
        "created_at": STR,
        "statuses_count": INT,
        "followers_count": INT,
        "following_count": INT,
        "emojis": ARRAY,
        "fields": ARRAY,
    }
)
CREDENTIAL_ACCOUNT = {**ACCOUNT, "properties": {**ACCOUNT["properties"], "source": {"type": "object"}}}
MEDIA = _obj(
    {
        "id": STR,
        "type": {"type": "string", "enum": ["image", "gifv", "video", "audio", "unknown"]},
        "url": STR,
        "preview_url": NSTR,
        "description": NSTR,
        "meta": {"type": "object"},
    }
)
TAG = _obj({"name": STR, "url": STR, "history": ARRAY})
_STATUS_FIELDS = {
    "id": STR,
    "uri": STR,
    "url": NSTR,
    "created_at": STR,
    "edited_at": NSTR,
    "account": ACCOUNT,
    "content": STR,
    "visibility": {"type": "string", "enum": ["public", "unlisted", "private", "direct"]},
    "sensitive": BOOL,
    "spoiler_text": STR,
    "media_attachments": {"type": "array", "items": MEDIA},
    "mentions": ARRAY,
    "tags": {"type": "array", "items": TAG},
    "emojis": ARRAY,
    "reblogs_count": INT,
    "favourites_count": INT,
    "replies_count": INT,
    "in_reply_to_id": NSTR,
    "in_reply_to_account_id": NSTR,
    "favourited": BOOL,
    "reblogged": BOOL,
    "bookmarked": BOOL,
}
STATUS = _obj(
    {**_STATUS_FIELDS, "reblog": {**_obj(_STATUS_FIELDS), "nullable": True}},
)
STATUSES = {"type": "array", "items": STATUS}
ACCOUNTS = {"type": "array", "items": ACCOUNT}
RELATIONSHIP = _obj(
    {
        "id": STR,
        "following": BOOL,
        "followed_by": BOOL,
        "blocking": BOOL,
        "blocked_by": BOOL,
        "muting": BOOL,
        "requested": BOOL,
    }
)
CONTEXT = _obj({"ancestors": STATUSES, "descendants": STATUSES})
NOTIFICATION = _obj(
    {"id": STR, "type": STR, "created_at": STR, "account": ACCOUNT, "status": {**STATUS, "nullable": True}}
)
STATUS_EDIT = _obj(
    {"content": STR, "spoiler_text": STR, "sensitive": BOOL, "created_at": STR, "account": ACCOUNT}
)
SEARCH = _obj({"accounts": ACCOUNTS, "statuses": STATUSES, "hashtags": {"type": "array", "items": TAG}})
REPORT = _obj({"id": STR, "action_taken": BOOL, "category": STR, "comment": STR, "target_account": ACCOUNT})
APPLICATION = _obj(
    {"name": STR, "website": NSTR, "client_id": STR, "client_secret": STR, "redirect_uri": STR}
)
MARKERS = {
    "type": "object",
    "additionalProperties": _obj({"last_read_id": STR, "version": INT, "updated_at": STR}),
}
OBJECT = {"type": "object"}
LIST = {"type": "array", "items": {}}
TOKEN = _obj({"access_token": STR, "token_type": STR, "scope": STR, "created_at": INT})


def ok(schema: dict, description: str = "") -> dict:
    return {200: OpenApiResponse(response=schema, description=description)}


PAGING = [
    OpenApiParameter("max_id", str, description="Items older than this id."),
    OpenApiParameter("since_id", str, description="Items newer than this id, newest first."),
    OpenApiParameter("min_id", str, description="Items right after this id."),
    OpenApiParameter("limit", int, description="At most this many items (default 20, at most 40)."),
]
