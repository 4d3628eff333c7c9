from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.static import serve

from . import views
from .mastodon import urls as mastodon_urls
from .metrics import metrics_view

handler400 = "microblog.views.bad_request"
handler403 = "microblog.views.permission_denied"
handler404 = "microblog.views.page_not_found"
handler500 = "microblog.views.server_error"

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path("api/", include("microblog.mastodon.urls")),
    path("api/", include("microblog.api.urls")),
    path("oauth/", include(mastodon_urls.oauth_patterns)),
    path("", include(mastodon_urls.well_known_patterns)),
    re_path(r"^api/", views.api_not_found),
    path("moderation/", include("moderation.urls")),
    path("", include("microblog.web.urls")),
]

if settings.DEBUG or settings.HOLDFAST_SERVE_MEDIA:
    # In production nginx serves media; the embedded default serves it itself.
    urlpatterns += [
        path(f"{settings.MEDIA_URL.strip('/')}/<path:path>", serve, {"document_root": settings.MEDIA_ROOT})
    ]
