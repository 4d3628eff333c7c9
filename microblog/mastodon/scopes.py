"""Mastodon's OAuth scopes: the four top-level ones and their granular forms.

``read`` grants every ``read:…`` scope, ``write`` every ``write:…``; ``follow`` is
Mastodon's legacy scope for the social graph (follows, blocks, mutes). Each endpoint
names the granular scope it needs (``required_scopes`` on the view, by method) and
``token_allows`` answers whether a token's granted scopes cover it.
"""

from collections.abc import Iterable

READ_SCOPES = (
    "read:accounts",
    "read:blocks",
    "read:bookmarks",
    "read:favourites",
    "read:filters",
    "read:follows",
    "read:lists",
    "read:mutes",
    "read:notifications",
    "read:search",
    "read:statuses",
)
WRITE_SCOPES = (
    "write:accounts",
    "write:blocks",
    "write:bookmarks",
    "write:conversations",
    "write:favourites",
    "write:filters",
    "write:follows",
    "write:lists",
    "write:media",
    "write:mutes",
    "write:notifications",
    "write:reports",
    "write:statuses",
)
FOLLOW_SCOPES = ("read:blocks", "write:blocks", "read:follows", "write:follows", "read:mutes", "write:mutes")

SCOPE_DESCRIPTIONS: dict[str, str] = {
    "read": "Read everything your account can see",
    "write": "Post, edit and delete, and change everything your account can change",
    "follow": "Follow, unfollow, block, unblock, mute and unmute accounts",
    "push": "Receive push notifications",
    **{scope: f"Read your {scope.split(':')[1]}" for scope in READ_SCOPES},
    **{scope: f"Change your {scope.split(':')[1]}" for scope in WRITE_SCOPES},
}


def expand(granted: Iterable[str]) -> set[str]:
    """Every granular scope a set of granted scopes covers (the granted ones included)."""
    scopes = set(granted)
    if "read" in scopes:
        scopes.update(READ_SCOPES)
    if "write" in scopes:
        scopes.update(WRITE_SCOPES)
    if "follow" in scopes:
        scopes.update(FOLLOW_SCOPES)
    return scopes


def token_allows(granted: Iterable[str], required: str) -> bool:
    return required in expand(granted)


def unknown_scopes(requested: Iterable[str]) -> list[str]:
    return [scope for scope in requested if scope not in SCOPE_DESCRIPTIONS]
