"""The pipeline end to end in-process: commit → classifiers → policy → state, cases, audit."""

import threading
import time

import pytest

from microblog.posts import services as posts
from microblog.posts.models import ModerationState, Post
from microblog.posts.timelines import visible_posts
from moderation import pipeline
from moderation.models import AuditEntry, ClassifierScore, ModerationCase, Strike, Verdict

from .conftest import BENIGN, VIOLENT

pytestmark = pytest.mark.django_db


def test_benign_post_is_allowed_with_scores_and_audit(alice, publish):
    post = publish(alice, BENIGN)
    assert post.moderation_state == ModerationState.ALLOWED
    scores = ClassifierScore.objects.filter(post=post)
    assert {s.classifier for s in scores} >= {"textmodel", "spam"}
    assert all(s.version for s in scores)
    assert {s.category for s in scores if s.classifier == "textmodel"} == {"violence", "hate", "offensive"}
    verdict = Verdict.objects.get(post=post)
    assert verdict.action == "allow" and verdict.automated
    entry = AuditEntry.objects.get(target_type="post", target_id=post.pk)
    assert entry.action == "auto_allow" and "textmodel@" in entry.actor_label


def test_pre_moderation_hides_pending_from_others_but_not_author(alice, bob, settings):
    settings.HOLDFAST_MODERATION_MODE = "pre"
    post = posts.create_post(alice, text=BENIGN)  # on_commit not run: still pending
    assert post.moderation_state == ModerationState.PENDING
    assert visible_posts(alice).filter(pk=post.pk).exists()
    assert not visible_posts(bob).filter(pk=post.pk).exists()
    pipeline.moderate([post.pk])
    assert visible_posts(bob).filter(pk=post.pk).exists()


def test_post_moderation_shows_at_once_and_withdraws_on_removal(alice, bob, settings, rule):
    settings.HOLDFAST_MODERATION_MODE = "post"
    rule("buy cheap pills", category="spam", action="remove")
    post = posts.create_post(alice, text="buy cheap pills now")
    assert visible_posts(bob).filter(pk=post.pk).exists()
    pipeline.moderate([post.pk])
    post.refresh_from_db()
    assert post.moderation_state == ModerationState.REMOVED and post.deleted_at is not None
    assert not visible_posts(bob).filter(pk=post.pk).exists()


def test_violent_post_is_not_published(alice, bob, publish):
    post = publish(alice, VIOLENT)
    assert post.moderation_state in (ModerationState.HELD, ModerationState.REMOVED)
    assert not visible_posts(bob).filter(pk=post.pk).exists()
    case = ModerationCase.objects.get(post=post)
    assert case.category in ("violence", "hate", "offensive")


def test_redelivered_batch_changes_nothing_twice(alice, rule):
    rule("forbiddenword", action="remove")
    ids = [
        posts.create_post(alice, text=t).pk for t in (BENIGN, "forbiddenword here", "another nice day out")
    ]
    assert pipeline.moderate(ids) == 3
    counts = (
        ClassifierScore.objects.count(),
        AuditEntry.objects.count(),
        Verdict.objects.count(),
        Strike.objects.count(),
    )
    assert pipeline.moderate(ids) == 0
    assert pipeline.moderate_batch(ids) == 0
    assert (
        ClassifierScore.objects.count(),
        AuditEntry.objects.count(),
        Verdict.objects.count(),
        Strike.objects.count(),
    ) == counts


@pytest.mark.parametrize(
    "text",
    [
        "k i l l all of them",
        "kіll all of them",  # noqa: RUF001 - Cyrillic i
        "k\u200bi\u200bl\u200bl all of them",
        "ＫＩＬＬ all of them",  # noqa: RUF001 - fullwidth
        "kiiiiiiiill all of them",
        "k1ll all of them",
    ],
)
def test_obfuscation_does_not_slip_through_rules(alice, publish, rule, only_rules, text):
    rule("kill all", category="violence", action="review")
    post = publish(alice, text)
    assert post.moderation_state == ModerationState.HELD, text


def test_failing_classifier_sends_posts_to_review(alice, publish, settings):
    settings.HOLDFAST_MODERATION_CLASSIFIERS = [
        "moderation.classifiers.testing.FailingClassifier",
        "moderation.classifiers.textmodel.TextModelClassifier",
    ]
    post = publish(alice, BENIGN)
    assert post.moderation_state == ModerationState.HELD
    case = ModerationCase.objects.get(post=post)
    assert any("failing unavailable" in r for r in case.reasons)
    assert ClassifierScore.objects.filter(post=post, classifier="failing", category="error").exists()


def test_circuit_breaker_opens(alice, settings):
    from moderation.classifiers.base import breaker_for, enabled_classifiers, run_classifier
    from moderation.classifiers.testing import FailingClassifier

    settings.HOLDFAST_MODERATION_BREAKER_FAILURES = 2
    classifier = FailingClassifier()
    for _ in range(2):
        run_classifier(classifier, [])
    assert breaker_for("failing").is_open
    result = run_classifier(classifier, [])
    assert "circuit open" in str(result)
    assert enabled_classifiers()


def test_hanging_classifier_is_interrupted_and_its_posts_go_to_review(alice, publish, settings):
    settings.HOLDFAST_MODERATION_CLASSIFIERS = [
        "moderation.classifiers.testing.SlowClassifier",
        "moderation.classifiers.textmodel.TextModelClassifier",
    ]
    settings.HOLDFAST_MODERATION_CLASSIFIER_OPTIONS = {
        "moderation.classifiers.testing.SlowClassifier": {"seconds": 30}
    }
    settings.HOLDFAST_MODERATION_CLASSIFIER_TIMEOUT = 0.3
    started = time.monotonic()
    post = publish(alice, BENIGN)  # eager: the pipeline runs here, in pytest's main thread
    assert time.monotonic() - started < 10
    assert post.moderation_state == ModerationState.HELD
    case = ModerationCase.objects.get(post=post)
    assert any("no answer within 0.3 s" in r for r in case.reasons), case.reasons
    assert ClassifierScore.objects.filter(post=post, classifier="slow", category="error").exists()
    assert ClassifierScore.objects.filter(post=post, classifier="textmodel").exists()


def test_classifier_that_cannot_be_interrupted_is_judged_by_its_duration(settings):
    """Off the main thread (eager tasks under runserver) an overrun is caught afterwards."""
    from moderation.classifiers.base import Item, breaker_for, run_classifier
    from moderation.classifiers.testing import SlowClassifier

    settings.HOLDFAST_MODERATION_CLASSIFIER_TIMEOUT = 0.1
    item = Item(post_id=1, author_id=1, text="hello", normalised="hello")
    outcome = {}
    thread = threading.Thread(
        target=lambda: outcome.update(result=run_classifier(SlowClassifier(seconds=0.3), [item]))
    )
    thread.start()
    thread.join(timeout=10)
    assert "took more than 0.1 s for 1 posts" in str(outcome["result"])
    assert breaker_for("slow").count == 1
    fast = run_classifier(SlowClassifier(seconds=0), [item])
    assert isinstance(fast, list) and len(fast) == 1


def test_http_classifier_down_goes_to_review(alice, publish, settings):
    settings.HOLDFAST_MODERATION_CLASSIFIERS = ["moderation.classifiers.http.HttpClassifier"]
    settings.HOLDFAST_MODERATION_CLASSIFIER_OPTIONS = {
        "moderation.classifiers.http.HttpClassifier": {"url": "http://127.0.0.1:9/score", "timeout": 0.5}
    }
    post = publish(alice, BENIGN)
    assert post.moderation_state == ModerationState.HELD


def test_limited_account_posts_go_to_review(alice, moderator, publish):
    from moderation.services import accounts

    accounts.take_account_action(moderator, alice, "limit", days=3, reason="flooding")
    post = publish(alice, BENIGN)
    assert post.moderation_state == ModerationState.HELD


def test_spam_same_text_from_many_accounts(make_user, publish):
    text = "Visit my amazing shop for the best deals on watches today"
    states = [publish(make_user(), text).moderation_state for _ in range(6)]
    assert states[0] == ModerationState.ALLOWED
    assert states[-1] != ModerationState.ALLOWED


def test_old_fingerprints_are_pruned_and_recent_ones_still_catch_floods(make_user, publish, settings):
    from datetime import timedelta

    from django.utils import timezone

    from moderation import tasks
    from moderation.models import TextFingerprint

    text = "Visit my amazing shop for the best deals on watches today"
    old = [publish(make_user(), text) for _ in range(3)]
    window = timedelta(seconds=settings.HOLDFAST_MODERATION_SPAM["window_seconds"])
    long_ago = timezone.now() - window - timedelta(minutes=1)
    TextFingerprint.objects.filter(post__in=old).update(created_at=long_ago)
    publish(make_user(), "A different post about the harbour and the tides")
    assert tasks.prune_fingerprints() == 3
    assert TextFingerprint.objects.count() == 1
    assert tasks.prune_fingerprints() == 0
    # Flood detection within the window works as before.
    states = [publish(make_user(), text).moderation_state for _ in range(6)]
    assert states[0] == ModerationState.ALLOWED and states[-1] != ModerationState.ALLOWED


def test_sweeper_requeues_old_pending_posts(alice):
    post = posts.create_post(alice, text=BENIGN)  # no on_commit: as if the broker was down
    assert pipeline.sweep(age=3600) == 0
    assert pipeline.sweep(age=0) == 1
    post.refresh_from_db()
    assert post.moderation_state == ModerationState.ALLOWED


def test_broker_down_leaves_post_pending(alice, publish, monkeypatch):
    from moderation import tasks

    calls = []

    def down(*a, **k):
        calls.append(1)
        raise ConnectionError("redis down")

    monkeypatch.setattr(pipeline, "_broker_down_until", 0.0)
    monkeypatch.setattr(tasks.moderate_posts, "apply_async", down)
    post = publish(alice, BENIGN)
    assert post.moderation_state == ModerationState.PENDING
    assert Post.objects.filter(pk=post.pk).exists()
    publish(alice, "a second post while the broker is down")
    assert len(calls) == 1  # backed off: posting does not wait on a dead broker again
    monkeypatch.setattr(pipeline, "_broker_down_until", 0.0)
