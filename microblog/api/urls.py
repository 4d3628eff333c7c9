from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from . import views as v

relation = [
    path(f"v1/accounts/<str:username>/{name}", v.RelationshipView.as_view(action=name), name=f"api-{name}")
    for name in v.RelationshipView.handlers
]
post_actions = [
    path(f"v1/posts/<int:post_id>/{name}", v.PostActionView.as_view(action=name), name=f"api-post-{name}")
    for name in v.PostActionView.handlers
]

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its start-up script as a file, so the CSP needs no inline scripts.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("v1/accounts", v.SignupView.as_view(), name="api-signup"),
    path("v1/accounts/me", v.MeView.as_view(), name="api-me"),
    path("v1/accounts/me/avatar", v.AvatarView.as_view(), name="api-avatar"),
    path("v1/accounts/<str:username>", v.AccountView.as_view(), name="api-account"),
    path("v1/accounts/<str:username>/posts", v.AccountPostsView.as_view(), name="api-account-posts"),
    path(
        "v1/accounts/<str:username>/followers",
        v.AccountFollowsView.as_view(direction="followers"),
        name="api-followers",
    ),
    path(
        "v1/accounts/<str:username>/following",
        v.AccountFollowsView.as_view(direction="following"),
        name="api-following",
    ),
    path(
        "v1/accounts/<str:username>/relationship", v.RelationshipStateView.as_view(), name="api-relationship"
    ),
    *relation,
    path("v1/tokens", v.TokenListView.as_view(), name="api-tokens"),
    path("v1/tokens/<int:token_id>", v.TokenDetailView.as_view(), name="api-token"),
    path("v1/posts", v.PostListView.as_view(), name="api-posts"),
    path("v1/posts/<int:post_id>", v.PostDetailView.as_view(), name="api-post"),
    path("v1/posts/<int:post_id>/context", v.PostContextView.as_view(), name="api-post-context"),
    path("v1/posts/<int:post_id>/history", v.PostHistoryView.as_view(), name="api-post-history"),
    *post_actions,
    path("v1/media", v.MediaView.as_view(), name="api-media"),
    path("v1/timelines/home", v.HomeTimelineView.as_view(), name="api-home"),
    path("v1/timelines/public", v.PublicTimelineView.as_view(), name="api-public"),
    path("v1/timelines/tag/<str:name>", v.HashtagTimelineView.as_view(), name="api-hashtag"),
    path("v1/notifications", v.NotificationListView.as_view(), name="api-notifications"),
    path("v1/notifications/unread", v.NotificationUnreadView.as_view(), name="api-notifications-unread"),
    path("v1/notifications/read", v.NotificationReadView.as_view(), name="api-notifications-read"),
    path("v1/search", v.SearchView.as_view(), name="api-search"),
]
