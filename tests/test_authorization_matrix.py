"""Who may do what, for every role and object kind, over HTTP (API and web).

Roles: anonymous, the owner, another user, a suspended user, a moderator, an admin.
Objects: a post, a profile, a report, a review case, an appeal, the audit log, the admin.
Each cell says allowed or denied; a denial must be a 401/403/404 (or a redirect to log in),
never a 500 and never a change to what is stored.
"""

import pytest
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from microblog.accounts.models import User
from microblog.accounts.services import create_access_token
from microblog.posts.models import Post
from moderation import policy_versions
from moderation.models import Appeal, ModerationCase, PolicyStatus, PolicyVersion
from moderation.services import appeals, cases, reports

ROLES = ["anonymous", "owner", "other", "suspended", "moderator", "admin"]
DENIED = {401, 403, 404}


@pytest.fixture
def world(db, make_user, publish):
    owner = make_user("owner")
    other = make_user("other")
    suspended = make_user("suspended")
    moderator = make_user("moderator")
    Group.objects.get_or_create(name="moderator")[0].user_set.add(moderator)
    second_moderator = make_user("moderator2")
    Group.objects.get(name="moderator").user_set.add(second_moderator)
    admin = User.objects.create_superuser("admin", "admin@example.org", "correct horse battery")
    post = publish(owner, "a perfectly ordinary post about bread")
    bystander_post = publish(make_user("bystander"), "another ordinary post")
    removed = publish(owner, "a post a moderator will remove")
    # This test is about who may act, not about what the classifiers think of the text.
    Post.objects.filter(pk__in=[post.pk, removed.pk, bystander_post.pk]).update(moderation_state="allowed")
    report = reports.report(other, category="spam", post_id=removed.pk, comment="looks like spam")
    case = report.case
    cases.decide_case(second_moderator, case, "remove", "spam")
    appeal = appeals.appeal(owner, ModerationCase.objects.get(pk=case.pk), "it was not spam")
    open_report = reports.report(other, category="hate", post_id=post.pk, comment="check this")
    proposal = policy_versions.store_proposal(
        policy_versions.shipped(), model_versions=policy_versions.shipped_model_versions(), figures={},
        data={}, method="the shipped thresholds, proposed again (authorization matrix)")
    clients = {"anonymous": (APIClient(), None)}
    for role, user in {
        "owner": owner,
        "other": other,
        "suspended": suspended,
        "moderator": moderator,
        "admin": admin,
    }.items():
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {create_access_token(user, 'matrix')[1]}")
        clients[role] = (api, user)
    suspended.is_active = False
    suspended.save()
    return {
        "clients": clients,
        "post": post,
        "bystander_post": bystander_post,
        "case": ModerationCase.objects.get(pk=open_report.case_id),
        "appeal": appeal,
        "owner": owner,
        "proposal": proposal,
    }


def web_client(client, user):
    if user is not None and user.is_active:
        client.force_login(user)
    return client


# (action, expected roles allowed)
API_MATRIX = [
    ("read post", {"anonymous", "owner", "other", "moderator", "admin"}),
    ("edit post", {"owner"}),
    ("delete post", {"owner"}),
    ("read profile", {"anonymous", "owner", "other", "moderator", "admin"}),
    ("update own profile", {"owner", "other", "moderator", "admin"}),
    ("create report", {"owner", "other", "moderator", "admin"}),
    ("moderation queue", {"moderator", "admin"}),
    ("read case", {"moderator", "admin"}),
    ("decide case", {"moderator", "admin"}),
    ("decide appeal", {"moderator", "admin"}),
    ("audit log", {"moderator", "admin"}),
    ("policy versions", {"moderator", "admin"}),
    ("apply policy version", {"admin"}),
]


def api_call(action: str, api: APIClient, world: dict):
    post, case, appeal = world["post"], world["case"], world["appeal"]
    return {
        "read post": lambda: api.get(f"/api/v1/statuses/{post.pk}"),
        "edit post": lambda: api.put(f"/api/v1/statuses/{post.pk}", {"status": "changed"}, format="json"),
        "delete post": lambda: api.delete(f"/api/v1/statuses/{post.pk}"),
        "read profile": lambda: api.get(f"/api/v1/accounts/{world['owner'].pk}"),
        "update own profile": lambda: api.patch(
            "/api/v1/accounts/update_credentials", {"note": "mine"}, format="json"
        ),
        "create report": lambda: api.post(
            "/api/holdfast/v1/moderation/reports/",
            {"post_id": world["bystander_post"].pk, "category": "spam"},
            format="json",
        ),
        "moderation queue": lambda: api.get("/api/holdfast/v1/moderation/queue/"),
        "read case": lambda: api.get(f"/api/holdfast/v1/moderation/cases/{case.pk}/"),
        "decide case": lambda: api.post(
            f"/api/holdfast/v1/moderation/cases/{case.pk}/decision/",
            {"decision": "approve", "reason": "fine"},
            format="json",
        ),
        "decide appeal": lambda: api.post(
            f"/api/holdfast/v1/moderation/appeals/{appeal.pk}/decision/",
            {"reverse": False, "reason": "upheld"},
            format="json",
        ),
        "audit log": lambda: api.get("/api/holdfast/v1/moderation/audit/"),
        "policy versions": lambda: api.get("/api/holdfast/v1/moderation/policy/"),
        "apply policy version": lambda: api.post(
            f"/api/holdfast/v1/moderation/policy/{world['proposal'].pk}/apply/", {"reason": "matrix"},
            format="json",
        ),
    }[action]()


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("action", "allowed"), API_MATRIX, ids=[a for a, _ in API_MATRIX])
def test_api_matrix(world, role, action, allowed):
    api, _ = world["clients"][role]
    before = Post.objects.get(pk=world["post"].pk)
    response = api_call(action, api, world)
    if role in allowed:
        assert response.status_code < 400, (role, action, response.status_code, response.content[:300])
    else:
        assert response.status_code in DENIED, (role, action, response.status_code, response.content[:300])
        after = Post.objects.get(pk=world["post"].pk)
        assert (after.text, after.deleted_at) == (before.text, before.deleted_at)
        assert ModerationCase.objects.get(pk=world["case"].pk).status == world["case"].status
        assert Appeal.objects.get(pk=world["appeal"].pk).status == world["appeal"].status
        assert PolicyVersion.objects.get(pk=world["proposal"].pk).status == PolicyStatus.PROPOSED


WEB_PAGES = [
    ("/moderation/", {"moderator", "admin"}),
    ("/moderation/audit/", {"moderator", "admin"}),
    ("/moderation/dashboard/", {"moderator", "admin"}),
    ("/moderation/cases/{case}/", {"moderator", "admin"}),
    ("/moderation/rules/", {"moderator", "admin"}),
    ("/moderation/policy/", {"moderator", "admin"}),
    ("/admin/", {"admin"}),
    ("/admin/accounts/user/", {"admin"}),
    ("/posts/{post}/edit/", {"owner"}),
    ("/settings/tokens/", {"owner", "other", "moderator", "admin"}),
    ("/settings/apps/", {"owner", "other", "moderator", "admin"}),
]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("path", "allowed"), WEB_PAGES, ids=[p for p, _ in WEB_PAGES])
def test_web_matrix(world, client, role, path, allowed):
    _, user = world["clients"][role]
    url = path.format(case=world["case"].pk, post=world["post"].pk)
    response = web_client(client, user).get(url)
    if role in allowed:
        assert response.status_code == 200, (role, url, response.status_code)
    else:
        assert response.status_code in DENIED or (
            response.status_code == 302 and "login" in response["Location"]
        ), (role, url, response.status_code)


def test_suspended_user_cannot_log_in(world, client):
    response = client.post("/accounts/login/", {"username": "suspended", "password": "correct horse battery"})
    assert response.status_code == 200  # the form again, with an error
    assert "_auth_user_id" not in client.session
