"""A person's path through the site in a real browser: sign up, post, reply, follow, see
it on the home timeline, search, log out."""

import re

import pytest
from playwright.sync_api import Page, expect

from microblog.accounts.models import User
from microblog.posts import services as posts

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_up(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/signup/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("a long passphrase 42")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Home")).to_be_visible()


def test_sign_up_post_reply_follow_search_log_out(page: Page, live_server):
    base = live_server.url
    author = User.objects.create_user("harbourmaster", password="a long passphrase 42")
    posts.create_post(author, text="The ferry leaves at noon #harbour")  # moderated on commit

    sign_up(page, base, "newcomer")
    page.get_by_label("What's happening?").fill("My first post on #holdfast")
    page.get_by_role("button", name="Post", exact=True).click()
    expect(page.get_by_text("Posted.")).to_be_visible()
    expect(page.locator("article").first).to_contain_text("My first post on #holdfast")

    # Follow the harbourmaster: their post joins the home timeline.
    page.goto(f"{base}/@harbourmaster/")
    page.get_by_role("button", name="Follow").click()
    expect(page.get_by_role("button", name="Unfollow")).to_be_visible()
    page.get_by_role("link", name="Home", exact=True).click()
    ferry = page.locator("article", has_text="The ferry leaves at noon")
    expect(ferry).to_be_visible()

    # Reply in the thread view.
    ferry.get_by_role("link", name=re.compile(r"^Reply")).click()
    page.get_by_label("What's happening?").fill("See you on board @harbourmaster")
    page.get_by_role("button", name="Reply", exact=True).click()
    expect(page.get_by_text("Reply posted.")).to_be_visible()
    expect(page.locator("article", has_text="See you on board")).to_be_visible()

    # Bad input gets a form error, not a crash.
    page.goto(f"{base}/")
    page.get_by_label("What's happening?").fill("   ")
    page.get_by_role("button", name="Post", exact=True).click()
    expect(page.get_by_role("alert").first).to_contain_text("cannot be empty")

    # Search finds posts and people.
    page.get_by_role("link", name="Search").click()
    page.get_by_label("Search").fill("ferry")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("article", has_text="The ferry leaves at noon")).to_be_visible()

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("link", name="Log in")).to_be_visible()


def test_keyboard_user_can_skip_to_content(page: Page, live_server):
    page.goto(f"{live_server.url}/public/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()


def test_screenshot_of_home_timeline(page: Page, live_server, tmp_path):
    sign_up(page, live_server.url, "looker")
    page.get_by_label("What's happening?").fill("Looking at the layout on a phone-sized screen")
    page.get_by_role("button", name="Post", exact=True).click()
    page.set_viewport_size({"width": 390, "height": 844})
    path = tmp_path / "home.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 5000
