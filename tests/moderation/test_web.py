"""Moderation screens: what moderators can do, and that nobody else can see them."""

import pytest
from django.test import Client

from microblog.posts.models import ModerationState
from moderation.models import Appeal, AuditEntry, ModerationCase, Rule
from moderation.services import cases, reports

from .conftest import BENIGN

pytestmark = pytest.mark.django_db

MOD_PAGES = [
    "/moderation/",
    "/moderation/rules/",
    "/moderation/reports/",
    "/moderation/appeals/",
    "/moderation/audit/",
    "/moderation/dashboard/",
    "/moderation/accounts/alice/",
]


@pytest.fixture
def case(alice, bob, publish):
    post = publish(alice, BENIGN)
    return reports.report(bob, post_id=post.pk, category="hate", comment="rude").case


@pytest.mark.parametrize("url", MOD_PAGES)
def test_pages_denied_to_anonymous_and_users(url, alice, bob, client_for):
    response = Client().get(url)
    assert response.status_code == 302 and "/login" in response["Location"]
    assert client_for(bob).get(url).status_code == 403


def test_case_and_actions_denied_to_users(case, bob, client_for):
    c = client_for(bob)
    assert c.get(f"/moderation/cases/{case.pk}/").status_code == 403
    assert c.post(f"/moderation/cases/{case.pk}/", {"decision": "approve"}).status_code == 403
    assert c.post("/moderation/cases/bulk/", {"case": [case.pk], "decision": "approve"}).status_code == 403
    assert (
        c.post(
            "/moderation/rules/", {"kind": "keyword", "pattern": "x", "category": "hate", "action": "review"}
        ).status_code
        == 403
    )
    case.refresh_from_db()
    assert case.is_open and not Rule.objects.exists()


@pytest.mark.parametrize("url", MOD_PAGES)
def test_pages_render_for_moderators(url, alice, case, moderator, client_for):
    assert client_for(moderator).get(url).status_code == 200


def test_superuser_is_moderator(make_user, client_for, case):
    admin = make_user("root", is_superuser=True, is_staff=True)
    assert client_for(admin).get("/moderation/").status_code == 200


def test_queue_shows_case_with_shortcuts(case, moderator, client_for):
    html = client_for(moderator).get("/moderation/").content.decode()
    assert (
        f"/moderation/cases/{case.pk}/" in html
        and "shortcuts.js" in html
        and 'data-shortcuts="queue"' in html
    )


def test_case_detail_shows_context_scores_and_history(case, moderator, client_for):
    html = client_for(moderator).get(f"/moderation/cases/{case.pk}/").content.decode()
    assert "Post in context" in html and "textmodel" in html and "history" in html
    assert "rude" in html


def test_decide_through_the_form(case, moderator, client_for):
    c = client_for(moderator)
    response = c.post(f"/moderation/cases/{case.pk}/", {"op": "decide", "decision": "remove", "reason": ""})
    assert response.status_code == 400 and "Say why" in response.content.decode()
    response = c.post(
        f"/moderation/cases/{case.pk}/", {"op": "decide", "decision": "remove", "reason": "hateful"}
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.outcome == "removed" and case.post.moderation_state == ModerationState.REMOVED


def test_claim_and_bulk(alice, bob, publish, moderator, client_for, only_rules):
    cases = [
        reports.report(bob, post_id=publish(alice, f"{BENIGN} {i}").pk, category="spam").case
        for i in range(3)
    ]
    c = client_for(moderator)
    assert c.post(f"/moderation/cases/{cases[0].pk}/", {"op": "claim"}).status_code == 302
    assert ModerationCase.objects.get(pk=cases[0].pk).claimed_by == moderator
    response = c.post("/moderation/cases/bulk/", {"case": [x.pk for x in cases], "decision": "approve"})
    assert response.status_code == 302
    assert ModerationCase.objects.filter(status="resolved", outcome="approved").count() == 3
    assert c.post("/moderation/cases/bulk/", {"case": ["abc"], "decision": "approve"}).status_code == 400


def test_account_action_form(alice, moderator, client_for):
    c = client_for(moderator)
    r = c.post("/moderation/accounts/alice/", {"kind": "suspend", "days": "-3", "reason": "x"})
    assert r.status_code == 400
    r = c.post("/moderation/accounts/alice/", {"kind": "suspend", "days": "3", "reason": "abuse"})
    assert r.status_code == 302
    alice.refresh_from_db()
    assert not alice.is_active
    assert c.get("/moderation/accounts/nobody/").status_code == 404


def test_rules_screen_bad_regex_and_preview(alice, publish, moderator, client_for, only_rules):
    publish(alice, "I love cheap watches")
    c = client_for(moderator)
    bad = c.post(
        "/moderation/rules/",
        {
            "kind": "regex",
            "pattern": "(unclosed",
            "category": "spam",
            "action": "review",
            "enabled": "on",
            "save": "1",
        },
    )
    assert bad.status_code == 400 and "Invalid regular expression" in bad.content.decode()
    slow = c.post(
        "/moderation/rules/",
        {
            "kind": "regex",
            "pattern": "(a+)+$",
            "category": "spam",
            "action": "review",
            "enabled": "on",
            "save": "1",
        },
    )
    assert slow.status_code == 400 and "too slow" in slow.content.decode()
    preview = c.post(
        "/moderation/rules/",
        {
            "kind": "keyword",
            "pattern": "cheap watches",
            "category": "spam",
            "action": "review",
            "enabled": "on",
            "preview": "1",
        },
    )
    assert preview.status_code == 200 and "1 of" in preview.content.decode()
    assert not Rule.objects.exists()
    saved = c.post(
        "/moderation/rules/",
        {
            "kind": "domain",
            "pattern": "https://Spam.Example/",
            "category": "spam",
            "action": "remove",
            "enabled": "on",
            "save": "1",
        },
    )
    assert saved.status_code == 302
    rule = Rule.objects.get()
    assert rule.pattern == "spam.example" and rule.created_by == moderator
    assert c.post(f"/moderation/rules/{rule.pk}/", {"delete": "1"}).status_code == 302
    assert AuditEntry.objects.filter(action="rule_delete").exists()


def test_user_report_forms(alice, bob, publish, client_for):
    post = publish(alice, BENIGN)
    c = client_for(bob)
    assert "/moderation/report/account/alice/" in c.get(f"/@{alice.username}/").content.decode()
    assert c.get(f"/moderation/report/post/{post.pk}/").status_code == 200
    r = c.post(f"/moderation/report/post/{post.pk}/", {"category": "bogus"})
    assert r.status_code == 400
    r = c.post(f"/moderation/report/post/{post.pk}/", {"category": "hate", "comment": "mean"})
    assert r.status_code == 302
    r = c.post(f"/moderation/report/post/{post.pk}/", {"category": "hate"})
    assert r.status_code == 400 and "already reported" in r.content.decode()
    assert c.post("/moderation/report/account/alice/", {"category": "spam"}).status_code == 302
    assert c.get("/moderation/report/account/nobody/").status_code == 404
    assert Client().get(f"/moderation/report/post/{post.pk}/").status_code == 302


def test_appeal_form(alice, bob, carol, publish, moderator, client_for):
    post = publish(alice, BENIGN)
    case = reports.report(bob, post_id=post.pk, category="hate").case
    cases.decide_case(moderator, case, "remove", "hateful")
    assert client_for(carol).get(f"/moderation/appeal/{case.pk}/").status_code == 403
    c = client_for(alice)
    assert f"/moderation/appeal/{case.pk}/" in c.get("/moderation/mine/").content.decode()
    assert c.post(f"/moderation/appeal/{case.pk}/", {"text": ""}).status_code == 400
    assert c.post(f"/moderation/appeal/{case.pk}/", {"text": "quote"}).status_code == 302
    again = c.post(f"/moderation/appeal/{case.pk}/", {"text": "again"})
    assert again.status_code == 400 and "once" in again.content.decode()
    item = Appeal.objects.get()
    same = client_for(moderator).post(
        f"/moderation/appeals/{item.pk}/", {"outcome": "reverse", "reason": "x"}
    )
    assert same.status_code == 403


def test_audit_log_filters_and_bad_input(case, moderator, client_for):
    c = client_for(moderator)
    assert "report" in c.get("/moderation/audit/?action=report").content.decode()
    assert c.get("/moderation/audit/?target_id=abc").status_code == 400


def test_dashboard_charts(case, moderator, client_for):
    c = client_for(moderator)
    for rng in ("24h", "14d"):
        html = c.get(f"/moderation/dashboard/?range={rng}").content.decode()
        assert html.count("<svg") == 4 and "Queue depth" in html and "p95" in html
    assert c.get("/moderation/dashboard/?range=forever").status_code == 400


def test_report_link_on_posts(alice, bob, publish, client_for):
    post = publish(alice, BENIGN)
    html = client_for(bob).get(f"/posts/{post.pk}/").content.decode()
    assert f"/moderation/report/post/{post.pk}/" in html
