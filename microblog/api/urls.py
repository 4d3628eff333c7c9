from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from . import views as v

# What only Holdfast has lives under its own prefix; the client API is Mastodon's, at
# Mastodon's paths (microblog.mastodon.urls, included before this).
holdfast_v1_patterns = [
    path("tokens", v.TokenListView.as_view(), name="api-tokens"),
    path("tokens/<int:token_id>", v.TokenDetailView.as_view(), name="api-token"),
    path("statuses/<int:post_id>/moderation", v.PostModerationView.as_view(), name="api-post-moderation"),
    path("moderation/", include("moderation.api_urls")),
]

urlpatterns = [
    path("holdfast/v1/", include(holdfast_v1_patterns)),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its start-up script as a file, so the CSP needs no inline scripts.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
]
