from django.apps import AppConfig


class MastodonConfig(AppConfig):
    name = "microblog.mastodon"
    label = "mastodon"
    verbose_name = "Mastodon client API"
    default_auto_field = "django.db.models.BigAutoField"
