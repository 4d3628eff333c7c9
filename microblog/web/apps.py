from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "microblog.web"
    label = "web"
