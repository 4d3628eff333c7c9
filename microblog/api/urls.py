from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from . import views as v

# Nested by resource: Django tries a request's path against each pattern of a list in turn,
# so one flat list made the home timeline the 33rd pattern tried on every request.
account_patterns = [
    path("me", v.MeView.as_view(), name="api-me"),
    path("me/avatar", v.AvatarView.as_view(), name="api-avatar"),
    path("<str:username>", v.AccountView.as_view(), name="api-account"),
    path("<str:username>/posts", v.AccountPostsView.as_view(), name="api-account-posts"),
    path(
        "<str:username>/followers", v.AccountFollowsView.as_view(direction="followers"), name="api-followers"
    ),
    path(
        "<str:username>/following", v.AccountFollowsView.as_view(direction="following"), name="api-following"
    ),
    path("<str:username>/relationship", v.RelationshipStateView.as_view(), name="api-relationship"),
    *(
        path(f"<str:username>/{name}", v.RelationshipView.as_view(action=name), name=f"api-{name}")
        for name in v.RelationshipView.handlers
    ),
]
post_patterns = [
    path("<int:post_id>", v.PostDetailView.as_view(), name="api-post"),
    path("<int:post_id>/context", v.PostContextView.as_view(), name="api-post-context"),
    path("<int:post_id>/history", v.PostHistoryView.as_view(), name="api-post-history"),
    *(
        path(f"<int:post_id>/{name}", v.PostActionView.as_view(action=name), name=f"api-post-{name}")
        for name in v.PostActionView.handlers
    ),
]
timeline_patterns = [
    path("home", v.HomeTimelineView.as_view(), name="api-home"),
    path("public", v.PublicTimelineView.as_view(), name="api-public"),
    path("tag/<str:name>", v.HashtagTimelineView.as_view(), name="api-hashtag"),
]
notification_patterns = [
    path("unread", v.NotificationUnreadView.as_view(), name="api-notifications-unread"),
    path("read", v.NotificationReadView.as_view(), name="api-notifications-read"),
]
v1_patterns = [
    path("timelines/", include(timeline_patterns)),
    path("posts", v.PostListView.as_view(), name="api-posts"),
    path("posts/", include(post_patterns)),
    path("accounts", v.SignupView.as_view(), name="api-signup"),
    path("accounts/", include(account_patterns)),
    path("tokens", v.TokenListView.as_view(), name="api-tokens"),
    path("tokens/<int:token_id>", v.TokenDetailView.as_view(), name="api-token"),
    path("media", v.MediaView.as_view(), name="api-media"),
    path("notifications", v.NotificationListView.as_view(), name="api-notifications"),
    path("notifications/", include(notification_patterns)),
    path("search", v.SearchView.as_view(), name="api-search"),
]

urlpatterns = [
    path("v1/", include(v1_patterns)),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its start-up script as a file, so the CSP needs no inline scripts.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
]
