from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "microblog.accounts"
    label = "accounts"
