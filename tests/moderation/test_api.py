"""REST API: reports for everyone signed in; queue, cases, decisions, audit for moderators."""

import pytest
from rest_framework.test import APIClient

from microblog.posts.models import ModerationState
from moderation.models import ModerationCase, Rule
from moderation.services import cases, reports

from .conftest import BENIGN

pytestmark = pytest.mark.django_db

BASE = "/api/holdfast/v1/moderation"


@pytest.fixture
def post(alice, publish):
    return publish(alice, BENIGN)


@pytest.fixture
def case(post, bob):
    return reports.report(bob, post_id=post.pk, category="hate").case


MOD_ENDPOINTS = [
    ("get", "/queue/", None),
    ("get", "/cases/{case}/", None),
    ("post", "/cases/{case}/claim/", {}),
    ("post", "/cases/{case}/decision/", {"decision": "approve"}),
    ("post", "/cases/bulk-decision/", {"cases": [1], "decision": "approve"}),
    ("post", "/accounts/alice/actions/", {"kind": "warn", "reason": "x"}),
    ("post", "/appeals/1/decision/", {"reverse": True, "reason": "x"}),
    ("get", "/audit/", None),
    ("get", "/rules/", None),
    ("post", "/rules/", {"kind": "keyword", "pattern": "x", "category": "hate", "action": "review"}),
]


@pytest.mark.parametrize(("method", "path", "body"), MOD_ENDPOINTS)
def test_moderator_endpoints_deny_anonymous_401_and_users_403(method, path, body, case, carol, api_as):
    url = BASE + path.format(case=case.pk)
    anon = getattr(APIClient(), method)(url, body, format="json")
    assert anon.status_code == 401
    user = getattr(api_as(carol), method)(url, body, format="json")
    assert user.status_code == 403 and "moderators" in user.json()["detail"]
    case.refresh_from_db()
    assert case.is_open and not Rule.objects.exists()


def test_report_endpoint(post, bob, api_as):
    c = api_as(bob)
    assert APIClient().post(f"{BASE}/reports/", {"category": "hate", "post_id": post.pk}).status_code == 401
    bad = c.post(f"{BASE}/reports/", {"category": "nope", "post_id": post.pk}, format="json")
    assert bad.status_code == 400 and "category" in bad.json()
    both = c.post(
        f"{BASE}/reports/", {"category": "hate", "post_id": post.pk, "username": "alice"}, format="json"
    )
    assert both.status_code == 400
    missing = c.post(f"{BASE}/reports/", {"category": "hate", "post_id": 99999}, format="json")
    assert missing.status_code == 404
    too_large = c.post(f"{BASE}/reports/", {"category": "hate", "post_id": 2**63}, format="json")
    assert too_large.status_code == 400 and "post_id" in too_large.json()
    ok = c.post(
        f"{BASE}/reports/", {"category": "hate", "post_id": post.pk, "comment": "mean"}, format="json"
    )
    assert ok.status_code == 201 and ok.json()["status"] == "open"
    dup = c.post(f"{BASE}/reports/", {"category": "hate", "post_id": post.pk}, format="json")
    assert dup.status_code == 400
    mine = c.get(f"{BASE}/reports/").json()
    assert len(mine) == 1


def test_moderator_flow(case, moderator, api_as, post):
    c = api_as(moderator)
    queue = c.get(f"{BASE}/queue/").json()["results"]
    assert [x["id"] for x in queue] == [case.pk]
    assert c.get(f"{BASE}/queue/?status=bogus").status_code == 400
    assert c.get(f"{BASE}/queue/?limit=0").status_code == 400
    detail = c.get(f"{BASE}/cases/{case.pk}/").json()
    assert detail["reports"] and {s["classifier"] for s in detail["scores"]} >= {"textmodel"}
    assert c.get(f"{BASE}/cases/99999/").status_code == 404
    assert c.post(f"{BASE}/cases/{case.pk}/claim/", {}, format="json").json()["claimed_by"] == "mod"
    bad = c.post(f"{BASE}/cases/{case.pk}/decision/", {"decision": "remove"}, format="json")
    assert bad.status_code == 400 and "reason" in bad.json()
    done = c.post(
        f"{BASE}/cases/{case.pk}/decision/", {"decision": "remove", "reason": "hate"}, format="json"
    )
    assert done.status_code == 200 and done.json()["outcome"] == "removed"
    post.refresh_from_db()
    assert post.moderation_state == ModerationState.REMOVED
    again = c.post(f"{BASE}/cases/{case.pk}/decision/", {"decision": "approve"}, format="json")
    assert again.status_code == 400
    audit = c.get(f"{BASE}/audit/?limit=2").json()
    assert len(audit["results"]) == 2 and audit["next"]
    assert c.get(f"{BASE}/audit/?before=x").status_code == 400


def test_appeal_via_api(case, alice, moderator, moderator2, api_as):
    cases.decide_case(moderator, case, "remove", "hate")
    a = api_as(alice)
    assert a.post(f"{BASE}/appeals/", {"case": case.pk}, format="json").status_code == 400
    created = a.post(f"{BASE}/appeals/", {"case": case.pk, "text": "context"}, format="json")
    assert created.status_code == 201
    assert a.post(f"{BASE}/appeals/", {"case": case.pk, "text": "again"}, format="json").status_code == 400
    appeal_id = created.json()["id"]
    same = api_as(moderator).post(
        f"{BASE}/appeals/{appeal_id}/decision/", {"reverse": True, "reason": "x"}, format="json"
    )
    assert same.status_code == 403
    other = api_as(moderator2).post(
        f"{BASE}/appeals/{appeal_id}/decision/", {"reverse": True, "reason": "ok"}, format="json"
    )
    assert other.status_code == 200 and other.json()["status"] == "reversed"


def test_account_actions_and_rules_via_api(alice, moderator, api_as):
    c = api_as(moderator)
    assert (
        c.post(f"{BASE}/accounts/alice/actions/", {"kind": "zap", "reason": "x"}, format="json").status_code
        == 400
    )
    assert (
        c.post(f"{BASE}/accounts/nobody/actions/", {"kind": "warn", "reason": "x"}, format="json").status_code
        == 404
    )
    r = c.post(
        f"{BASE}/accounts/alice/actions/", {"kind": "limit", "days": 2, "reason": "flood"}, format="json"
    )
    assert r.status_code == 201 and r.json()["until"]
    bad = c.post(
        f"{BASE}/rules/",
        {"kind": "regex", "pattern": "(x", "category": "hate", "action": "review"},
        format="json",
    )
    assert bad.status_code == 400 and "Invalid regular expression" in str(bad.json())
    slow = c.post(
        f"{BASE}/rules/",
        {"kind": "regex", "pattern": "(a|aa)+$", "category": "hate", "action": "review"},
        format="json",
    )
    assert slow.status_code == 400 and "too slow" in str(slow.json())
    ok = c.post(
        f"{BASE}/rules/",
        {"kind": "keyword", "pattern": "Slur", "category": "hate", "action": "remove"},
        format="json",
    )
    assert ok.status_code == 201


def test_bulk_decision(alice, bob, publish, moderator, api_as, only_rules):
    ids = [
        reports.report(bob, post_id=publish(alice, f"nice day number {w}").pk, category="spam").case_id
        for w in ("one", "two")
    ]
    r = api_as(moderator).post(
        f"{BASE}/cases/bulk-decision/", {"cases": [*ids, 99999], "decision": "approve"}, format="json"
    )
    assert (
        r.status_code == 200 and sorted(r.json()["decided"]) == sorted(ids) and "99999" in r.json()["errors"]
    )
    assert ModerationCase.objects.filter(outcome="approved").count() == 2


def test_schema_documents_moderation_endpoints(api):
    schema = api.get("/api/schema/").content.decode()
    for path in (
        "/api/holdfast/v1/moderation/reports/",
        "/api/holdfast/v1/moderation/queue/",
        "/api/holdfast/v1/moderation/audit/",
        "/api/holdfast/v1/moderation/cases/{case_id}/decision/",
    ):
        assert path in schema
