"""Mastodon's client API at Mastodon's paths, nested by resource (see microblog/api/urls.py)."""

from django.urls import include, path, re_path

from . import oauth
from .views import accounts as a
from .views import instance as i
from .views import media as m
from .views import notifications as n
from .views import reports as r
from .views import search as s
from .views import statuses as st
from .views import timelines as t

account_patterns = [
    path("verify_credentials", a.VerifyCredentialsView.as_view(), name="verify-credentials"),
    path("update_credentials", a.UpdateCredentialsView.as_view(), name="update-credentials"),
    path("relationships", a.RelationshipsView.as_view(), name="relationships"),
    path("lookup", a.LookupView.as_view(), name="account-lookup"),
    path("search", a.AccountSearchView.as_view(), name="account-search"),
    path("<str:account_id>", a.AccountView.as_view(), name="account"),
    path("<str:account_id>/statuses", a.AccountStatusesView.as_view(), name="account-statuses"),
    path("<str:account_id>/followers", a.FollowsView.as_view(direction="followers"), name="followers"),
    path("<str:account_id>/following", a.FollowsView.as_view(direction="following"), name="following"),
    path("<str:account_id>/featured_tags", i.DefaultValueView.as_view(), name="account-featured-tags"),
    path("<str:account_id>/lists", i.DefaultValueView.as_view(), name="account-lists"),
    *(
        path(
            f"<str:account_id>/{name}", a.RelationshipActionView.as_view(action=name), name=f"account-{name}"
        )
        for name in a.RelationshipActionView.handlers
    ),
]
status_patterns = [
    path("<str:status_id>", st.StatusView.as_view(), name="status"),
    path("<str:status_id>/context", st.ContextView.as_view(), name="status-context"),
    path("<str:status_id>/history", st.HistoryView.as_view(), name="status-history"),
    path("<str:status_id>/source", st.SourceView.as_view(), name="status-source"),
    path("<str:status_id>/favourited_by", st.InteractedView.as_view(kind="like"), name="favourited-by"),
    path("<str:status_id>/reblogged_by", st.InteractedView.as_view(kind="repost"), name="reblogged-by"),
    *(
        path(f"<str:status_id>/{name}", st.StatusActionView.as_view(action=name), name=f"status-{name}")
        for name in st.StatusActionView.handlers
    ),
]
timeline_patterns = [
    path("home", t.HomeView.as_view(), name="home"),
    path("public", t.PublicView.as_view(), name="public"),
    path("tag/<str:hashtag>", t.TagView.as_view(), name="tag"),
]
notification_patterns = [
    path("clear", n.ClearView.as_view(), name="notifications-clear"),
    path("unread_count", n.UnreadCountView.as_view(), name="notifications-unread"),
    path("<str:notification_id>", n.NotificationView.as_view(), name="notification"),
    path("<str:notification_id>/dismiss", n.DismissView.as_view(), name="notification-dismiss"),
]


def _default(name: str, value=(), scope: str = "read"):
    return path(name, i.DefaultValueView.as_view(value=value, required_scopes={"GET": scope}), name=name)


v1_patterns = [
    path("timelines/", include(timeline_patterns)),
    path("statuses", st.StatusCreateView.as_view(), name="statuses"),
    path("statuses/", include(status_patterns)),
    path("accounts", a.RegisterView.as_view(), name="register"),
    path("accounts/", include(account_patterns)),
    path("notifications", n.NotificationListView.as_view(), name="notifications"),
    path("notifications/", include(notification_patterns)),
    path("markers", n.MarkersView.as_view(), name="markers"),
    path("media", m.MediaUploadView.as_view(), name="media-v1"),
    path("media/<str:media_id>", m.MediaView.as_view(), name="media"),
    path("bookmarks", st.BookmarksView.as_view(), name="bookmarks"),
    path("favourites", st.FavouritesView.as_view(), name="favourites"),
    path("blocks", a.BlocksView.as_view(), name="blocks"),
    path("mutes", a.MutesView.as_view(), name="mutes"),
    path("reports", r.ReportView.as_view(), name="reports"),
    path("apps", i.AppsView.as_view(), name="apps"),
    path("apps/verify_credentials", i.VerifyAppView.as_view(), name="apps-verify"),
    path("instance", i.InstanceV1View.as_view(), name="instance-v1"),
    path("preferences", i.PreferencesView.as_view(), name="preferences"),
    _default("instance/rules"),
    _default("instance/peers"),
    _default("filters", scope="read:filters"),
    _default("lists", scope="read:lists"),
    _default("conversations", scope="read:statuses"),
    _default("announcements"),
    _default("trends"),
    _default("trends/tags"),
    _default("trends/statuses"),
    _default("trends/links"),
    _default("custom_emojis"),
    _default("follow_requests", scope="read:follows"),
    _default("followed_tags", scope="read:follows"),
    _default("suggestions", scope="read"),
    _default("endorsements", scope="read:accounts"),
    _default("domain_blocks", scope="read:blocks"),
    _default("featured_tags", scope="read:accounts"),
    _default("scheduled_statuses", scope="read:statuses"),
]
v2_patterns = [
    path("instance", i.InstanceV2View.as_view(), name="instance-v2"),
    path("search", s.SearchView.as_view(), name="search"),
    path("media", m.MediaUploadView.as_view(), name="media-v2"),
    _default("filters", scope="read:filters"),
    _default("suggestions"),
]

app_name = "mastodon"
urlpatterns = [
    path("v1/", include(v1_patterns)),
    path("v2/", include(v2_patterns)),
]

# With or without a trailing slash: toot asks for /oauth/authorize/, most apps for /oauth/authorize.
oauth_patterns = [
    re_path(r"^authorize/?$", oauth.AuthorizeView.as_view(), name="oauth-authorize"),
    re_path(r"^token/?$", oauth.TokenView.as_view(), name="oauth-token"),
    re_path(r"^revoke/?$", oauth.RevokeView.as_view(), name="oauth-revoke"),
]
well_known_patterns = [
    path(".well-known/webfinger", i.webfinger, name="webfinger"),
    path(".well-known/nodeinfo", i.nodeinfo_links, name="nodeinfo-links"),
    path("nodeinfo/2.0", i.nodeinfo, name="nodeinfo"),
]
