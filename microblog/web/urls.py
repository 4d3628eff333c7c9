from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path

from microblog.ratelimit import rate_limited

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("public/", views.public, name="public"),
    path("tags/<str:name>/", views.hashtag, name="hashtag"),
    path("search/", views.search, name="search"),
    path("notifications/", views.notification_list, name="notifications"),
    path("posts/<int:post_id>/", views.post_detail, name="post-detail"),
    path("posts/<int:post_id>/edit/", views.post_edit, name="post-edit"),
    path("posts/<int:post_id>/delete/", views.post_delete, name="post-delete"),
    path("posts/<int:post_id>/history/", views.post_history, name="post-history"),
    re_path(
        r"^posts/(?P<post_id>[0-9]+)/(?P<action>like|unlike|repost|unrepost)/$",
        views.post_action,
        name="post-action",
    ),
    path("@<str:username>/", views.profile, name="profile"),
    path("@<str:username>/followers/", views.follow_list, {"direction": "followers"}, name="followers"),
    path("@<str:username>/following/", views.follow_list, {"direction": "following"}, name="following"),
    re_path(
        r"^@(?P<username>[A-Za-z0-9_]+)/(?P<action>follow|unfollow|block|unblock|mute|unmute)/$",
        views.relation_action,
        name="relation-action",
    ),
    path("accounts/signup/", views.signup, name="signup"),
    path(
        "accounts/login/",
        rate_limited("login")(auth_views.LoginView.as_view()),
        name="login",
    ),
    path(
        "accounts/password_change/",
        auth_views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path("accounts/", include("django.contrib.auth.urls")),
    path("settings/profile/", views.settings_profile, name="settings-profile"),
    path("settings/tokens/", views.settings_tokens, name="settings-tokens"),
    path("settings/apps/", views.settings_apps, name="settings-apps"),
]
