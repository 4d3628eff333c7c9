"""Every model has a working Django admin page."""

import pytest
from django.apps import apps
from django.contrib import admin

from microblog.accounts.models import User

PROJECT_APPS = {"accounts", "posts", "notifications", "mastodon", "moderation"}


@pytest.fixture
def admin_client(client, db):
    client.force_login(User.objects.create_superuser("root", "root@example.org", "correct horse battery"))
    return client


@pytest.mark.parametrize(
    "model",
    [m for m in apps.get_models() if m._meta.app_label in PROJECT_APPS],
    ids=lambda m: m._meta.label,
)
def test_every_model_has_an_admin_page(admin_client, model):
    assert model in admin.site._registry, f"{model._meta.label} is not in the admin"
    url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
    assert admin_client.get(url).status_code == 200


def test_audit_log_cannot_be_changed_in_the_admin(admin_client):
    assert admin_client.get("/admin/moderation/auditentry/add/").status_code == 403
