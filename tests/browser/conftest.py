"""Browser tests drive Debian's chromium (Playwright cannot download its own browser here)."""

import os
import shutil

import pytest

CHROMIUM = os.environ.get("HOLDFAST_CHROMIUM", "/usr/bin/chromium")

# The live server runs in a thread of this process; Playwright's sync API runs an event loop.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture(autouse=True)
def rules_only_moderation(settings):
    """The walk-through is about the site; tests/moderation covers the classifiers."""
    settings.HOLDFAST_MODERATION_CLASSIFIERS = ["moderation.classifiers.rules.RuleClassifier"]
