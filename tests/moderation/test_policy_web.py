"""The policy page (/moderation/policy/) and the policy endpoints of the moderation API:
moderators see versions and figures, admins apply and restore (audit-logged), nobody else
sees anything, bad input answers with form errors / 400."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from moderation import policy_versions
from moderation.ml.policy import Thresholds
from moderation.models import AuditEntry, PolicyStatus, PolicyVersion

pytestmark = pytest.mark.django_db

API = "/api/holdfast/v1/moderation/policy"
FIGURES = {
    "stages": "first",
    "in_force_version": 0,
    "dev": {
        "before": {
            "share_auto": 0.639,
            "violence_recall": 0.852,
            "removal_precision": 0.977,
            "ok_removed": 0.0107,
            "auto_error": 0.1132,
            "n": 5326,
        },
        "after": {
            "share_auto": 0.448,
            "violence_recall": 0.982,
            "removal_precision": 0.984,
            "ok_removed": 0.0072,
            "auto_error": 0.0306,
            "n": 5326,
        },
    },
    "community": {"before": {"share_auto": 0.198, "n": 1307}, "after": {"share_auto": 0.132, "n": 1307}},
}


def proposal(review_at: float = 0.5, refused: str = "") -> PolicyVersion:
    shipped = policy_versions.shipped()
    first = {**shipped.first_stage, "offensive": Thresholds(review_at, max(review_at, 0.95))}
    return policy_versions.store_proposal(
        policy_versions.StageThresholds(0, first, shipped.first_stage_with_second, shipped.second_stage),
        model_versions=policy_versions.shipped_model_versions(),
        figures=FIGURES,
        data={"community_rows": 1307, "dev_rows": 5326},
        method="thresholds recalibrated on dev + community decisions (test)",
        proposed_by_label="test",
        refusal_reason=refused,
    )


@pytest.fixture
def admin(make_user):
    return make_user("root", is_superuser=True, is_staff=True)


@pytest.fixture(autouse=True)
def _fresh_policy_cache():
    policy_versions.forget_cached()
    yield
    policy_versions.forget_cached()


def test_page_lists_versions_with_figures_for_moderators(moderator, client_for):
    version = proposal()
    refused = proposal(0.1, refused="refused: violence recall on dev would fall from 0.982 to 0.965")
    page = client_for(moderator).get("/moderation/policy/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "In force: version 0 (shipped)" in html
    assert f"Version {version.pk}: Proposed" in html and f"Version {refused.pk}: Refused" in html
    assert "refused: violence recall on dev would fall from 0.982 to 0.965" in html
    for text in ("Decided without a human", "0.639", "0.448", "Violence recall", "0.982", "1307 community"):
        assert text in html
    assert "Apply version" not in html and "Only admins apply or restore" in html  # a moderator, not an admin


def test_page_and_changes_denied_to_anonymous_users_and_moderators(bob, moderator, client_for):
    version = proposal()
    response = Client().get("/moderation/policy/")
    assert response.status_code == 302 and "/login" in response["Location"]
    assert client_for(bob).get("/moderation/policy/").status_code == 403
    for who in (bob, moderator):
        c = client_for(who)
        assert c.post(f"/moderation/policy/{version.pk}/apply/", {"reason": "x"}).status_code == 403
        assert c.post("/moderation/policy/restore/", {"reason": "x"}).status_code == 403
    version.refresh_from_db()
    assert version.status == PolicyStatus.PROPOSED
    assert not AuditEntry.objects.filter(action__in=["policy_applied", "policy_restored"]).exists()


def test_admin_applies_and_restores_in_one_click_each(admin, client_for):
    version = proposal()
    c = client_for(admin)
    page = c.get("/moderation/policy/").content.decode()
    assert f"Apply version {version.pk}" in page and "Restore previous" not in page
    response = c.post(f"/moderation/policy/{version.pk}/apply/", {"reason": "fewer holds"}, follow=True)
    assert response.status_code == 200
    html = response.content.decode()
    assert f"Version {version.pk} is in force." in html and f"In force: version {version.pk}" in html
    assert policy_versions.active_thresholds().version == version.pk
    assert "Restore previous (version 0)" in html
    response = c.post("/moderation/policy/restore/", {"reason": ""}, follow=True)
    assert "Version 0 is in force again." in response.content.decode()
    assert policy_versions.active_thresholds().version == 0
    entries = list(AuditEntry.objects.filter(target_type="policy").order_by("pk"))
    assert [e.action for e in entries] == ["policy_proposed", "policy_applied", "policy_restored"]
    assert entries[1].actor == admin and entries[1].reason == "fewer holds"


def test_admin_bad_input_answers_with_form_errors(admin, client_for):
    c = client_for(admin)
    refused = proposal(refused="refused: error among auto-decided on dev would be 0.061")
    response = c.post(f"/moderation/policy/{refused.pk}/apply/", {"reason": ""})
    assert response.status_code == 400 and "it cannot be applied" in response.content.decode()
    response = c.post("/moderation/policy/restore/", {})
    assert response.status_code == 400
    assert "there is no previous version to restore" in response.content.decode()
    version = proposal()
    response = c.post(f"/moderation/policy/{version.pk}/apply/", {"reason": "x" * 2001})
    assert response.status_code == 400 and "at most 2000 characters" in response.content.decode()
    assert c.post("/moderation/policy/999999/apply/", {}).status_code == 404
    assert c.get(f"/moderation/policy/{version.pk}/apply/").status_code == 405
    assert policy_versions.active_thresholds().version == 0


def test_api_lists_applies_and_restores(admin, moderator, bob):
    version = proposal()
    api = APIClient()
    assert api.get(f"{API}/").status_code == 401
    api.force_authenticate(bob)
    assert api.get(f"{API}/").status_code == 403
    api.force_authenticate(moderator)
    listing = api.get(f"{API}/")
    assert listing.status_code == 200 and listing.json()["version"] == 0
    assert listing.json()["versions"][0]["id"] == version.pk
    assert listing.json()["versions"][0]["figures"]["dev"]["after"]["share_auto"] == 0.448
    assert api.post(f"{API}/{version.pk}/apply/", {}, format="json").status_code == 403
    api.force_authenticate(admin)
    applied = api.post(f"{API}/{version.pk}/apply/", {"reason": "api"}, format="json")
    assert applied.status_code == 200 and applied.json()["status"] == "active"
    again = api.post(f"{API}/{version.pk}/apply/", {}, format="json")
    assert again.status_code == 400 and "already in force" in again.json()["non_field_errors"][0]
    assert api.post(f"{API}/999999/apply/", {}, format="json").status_code == 404
    assert api.post(f"{API}/{version.pk}/apply/", {"reason": "x" * 2001}, format="json").status_code == 400
    restored = api.post(f"{API}/restore/", {}, format="json")
    assert restored.status_code == 200 and restored.json()["version"] == 0
    nothing = api.post(f"{API}/restore/", {}, format="json")
    assert nothing.status_code == 400 and "version 0" in nothing.json()["non_field_errors"][0]
