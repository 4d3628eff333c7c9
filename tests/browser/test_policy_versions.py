"""An admin applies a proposed moderation policy and restores the previous one, in a real browser."""

import pytest
from playwright.sync_api import Page, expect

from microblog.accounts.models import User
from moderation import policy_versions
from moderation.models import AuditEntry, PolicyStatus

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_applies_a_proposal_and_restores_the_previous_policy(page: Page, live_server):
    base = live_server.url
    User.objects.create_superuser("harbourmaster", "hm@example.org", "a long passphrase 42")
    shipped = policy_versions.shipped()
    version = policy_versions.store_proposal(
        shipped,
        model_versions=policy_versions.shipped_model_versions(),
        method="browser test",
        data={"community_rows": 40, "dev_rows": 61},
        proposed_by_label="propose_policy command",
        figures={
            "dev": {
                "before": {"share_auto": 0.639, "violence_recall": 0.852},
                "after": {"share_auto": 0.701, "violence_recall": 0.982},
            }
        },
    )
    policy_versions.forget_cached()

    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill("harbourmaster")
    page.get_by_label("Password").fill("a long passphrase 42")
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{base}/moderation/")
    page.get_by_role("link", name="Policy").click()
    expect(page.get_by_role("heading", name="In force: version 0 (shipped)")).to_be_visible()
    card = page.locator(f"#version-{version.pk}")
    expect(card.get_by_role("row", name="Violence recall")).to_contain_text("0.982")

    card.get_by_label("Reason").fill("our moderators' decisions")
    card.get_by_role("button", name=f"Apply version {version.pk}").click()
    expect(page.get_by_text(f"Version {version.pk} is in force.")).to_be_visible()
    expect(page.get_by_role("heading", name=f"In force: version {version.pk}")).to_be_visible()
    assert policy_versions.active_thresholds().version == version.pk

    page.get_by_role("button", name="Restore previous (version 0)").click()
    expect(page.get_by_text("Version 0 is in force again.")).to_be_visible()
    version.refresh_from_db()
    assert version.status == PolicyStatus.SUPERSEDED
    assert list(
        AuditEntry.objects.filter(action__startswith="policy_")
        .order_by("pk")
        .values_list("action", flat=True)
    ) == ["policy_proposed", "policy_applied", "policy_restored"]
