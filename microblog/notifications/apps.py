from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "microblog.notifications"
    label = "notifications"
