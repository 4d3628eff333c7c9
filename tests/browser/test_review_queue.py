"""A moderator works the review queue with the keyboard, in a real browser."""

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import Page, expect

from microblog.accounts.models import User
from microblog.posts import services as posts
from microblog.posts.models import ModerationState, Post
from moderation.models import AuditEntry, CaseStatus, ModerationCase, Outcome
from moderation.services import reports

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("a long passphrase 42")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Home")).to_be_visible()


def current_case(page: Page) -> ModerationCase:
    return ModerationCase.objects.get(pk=int(page.locator("tr.current").get_attribute("data-case")))


def test_keyboard_moves_approves_and_removes_with_a_reason(page: Page, live_server):
    base = live_server.url
    author = User.objects.create_user("ferryman", password="a long passphrase 42")
    reporter = User.objects.create_user("passenger", password="a long passphrase 42")
    moderator = User.objects.create_user("mod", password="a long passphrase 42")
    moderator.groups.add(Group.objects.get_or_create(name="moderator")[0])
    for text in ("Tickets are sold out", "Someone should sink that ferry with everyone on it"):
        post = posts.create_post(author, text=text)  # allowed on commit (rules only)
        reports.report(reporter, category="violence", post_id=post.pk, comment="see this")
    assert ModerationCase.objects.filter(status=CaseStatus.OPEN).count() == 2

    log_in(page, base, "mod")
    page.goto(f"{base}/moderation/")
    rows = page.locator("tr[data-case]")
    expect(rows).to_have_count(2)

    page.keyboard.press("j")
    expect(rows.nth(0)).to_have_class("current")
    page.keyboard.press("j")
    expect(rows.nth(1)).to_have_class("current")
    page.keyboard.press("k")
    expect(rows.nth(0)).to_have_class("current")

    # Approve the harmless one: `a` decides the current case.
    page.keyboard.press("j")
    if "sink" in current_case(page).post.text:
        page.keyboard.press("k")
    approved = current_case(page)
    page.keyboard.press("a")
    expect(page.get_by_text("Approve: 1 case(s).")).to_be_visible()
    expect(rows).to_have_count(1)

    # Remove the threat: `r` asks for a reason first, and Enter in the reason field
    # applies the removal (not the form's first button, which approves).
    page.keyboard.press("j")
    removed = current_case(page)
    page.keyboard.press("r")
    reason = page.get_by_label("Reason")
    expect(reason).to_be_focused()
    reason.fill("A call to violence against the crew")
    reason.press("Enter")
    expect(page.get_by_text("Remove: 1 case(s).")).to_be_visible()
    expect(page.get_by_text("Nothing to review.")).to_be_visible()

    approved.refresh_from_db()
    removed.refresh_from_db()
    assert (approved.status, approved.outcome) == (CaseStatus.RESOLVED, Outcome.APPROVED)
    assert (removed.status, removed.outcome) == (CaseStatus.RESOLVED, Outcome.REMOVED)
    assert Post.objects.get(pk=removed.post_id).moderation_state == ModerationState.REMOVED
    assert Post.objects.get(pk=approved.post_id).moderation_state == ModerationState.ALLOWED
    decisions = AuditEntry.objects.filter(actor=moderator).values_list("action", flat=True)
    assert len(decisions) >= 2


def test_enter_in_the_reason_field_alone_decides_nothing(page: Page, live_server):
    base = live_server.url
    author = User.objects.create_user("ferryman", password="a long passphrase 42")
    moderator = User.objects.create_user("mod", password="a long passphrase 42")
    moderator.groups.add(Group.objects.get_or_create(name="moderator")[0])
    post = posts.create_post(author, text="Tickets are sold out")
    reports.report(moderator, category="spam", post_id=post.pk)

    log_in(page, base, "mod")
    page.goto(f"{base}/moderation/")
    page.locator('input[name="case"]').first.check()
    page.get_by_label("Reason").fill("typed, then Enter by habit")
    page.get_by_label("Reason").press("Enter")
    page.wait_for_timeout(300)
    expect(page.locator("tr[data-case]")).to_have_count(1)
    assert ModerationCase.objects.get().status == CaseStatus.OPEN
