"""Policy versions: the thresholds in force, apply / restore, and what the pipeline then decides;
moderators' decisions as labelled data (``moderation.learning.decisions``)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from microblog.posts.models import ModerationState, Post
from moderation import pipeline, policy_versions
from moderation.learning.decisions import human_decisions
from moderation.ml.model import load_model
from moderation.ml.normalise import normalise
from moderation.ml.policy import CATEGORIES, Thresholds
from moderation.models import AuditEntry, ModerationCase, PolicyStatus, PolicyVersion
from moderation.services import appeals, cases, reports

from .conftest import BENIGN

pytestmark = pytest.mark.django_db

# Offensive-looking but allowed by the shipped thresholds (its offensive score is about 0.3,
# below the shipped review_at): the post "near a threshold" of the tests below.
NEAR = "this is fucking ridiculous"


def text_scores(text: str) -> dict[str, float]:
    return dict(zip(CATEGORIES, map(float, load_model().probabilities([normalise(text)])[0]), strict=True))


def stricter_offensive(review_at: float) -> policy_versions.StageThresholds:
    """The shipped thresholds with the text model's offensive review threshold at ``review_at``."""
    shipped = policy_versions.shipped()
    off = shipped.first_stage["offensive"]
    first = {**shipped.first_stage, "offensive": Thresholds(review_at, max(review_at, off.remove_at))}
    return policy_versions.StageThresholds(0, first, shipped.first_stage_with_second, shipped.second_stage)


def propose(thresholds: policy_versions.StageThresholds, **kw) -> PolicyVersion:
    return policy_versions.store_proposal(
        thresholds,
        model_versions=kw.pop("model_versions", policy_versions.shipped_model_versions()),
        figures={},
        data={},
        method="test",
        proposed_by_label="test",
        **kw,
    )


@pytest.fixture
def admin(make_user):
    return make_user("root", is_superuser=True, is_staff=True)


@pytest.fixture(autouse=True)
def _fresh_policy_cache():
    policy_versions.forget_cached()
    yield
    policy_versions.forget_cached()


def test_shipped_thresholds_are_version_0_until_one_is_applied():
    active = policy_versions.active_thresholds()
    assert active.version == 0
    assert active == policy_versions.shipped()
    assert set(active.first_stage) == set(CATEGORIES)


def test_applying_changes_the_pipelines_decision_near_a_threshold_and_restoring_brings_it_back(
    alice, bob, admin, publish
):
    score = text_scores(NEAR)["offensive"]
    shipped_review = policy_versions.shipped().first_stage["offensive"].review_at
    assert score < shipped_review, "NEAR must be allowed by the shipped thresholds: update the text"
    assert publish(alice, NEAR).moderation_state == ModerationState.ALLOWED

    version = propose(stricter_offensive(round(score - 0.05, 3)))
    policy_versions.apply(admin, version, "tighter on swearing")
    held = publish(bob, NEAR)
    assert held.moderation_state == ModerationState.HELD
    case = ModerationCase.objects.get(post=held)
    assert any("offensive" in r for r in case.reasons)

    assert policy_versions.restore_previous(admin, "too many holds") is None  # version 0 again
    assert publish(alice, NEAR + " again").moderation_state == ModerationState.ALLOWED
    entries = AuditEntry.objects.filter(target_type="policy").order_by("pk")
    actions = list(entries.values_list("action", flat=True))
    assert actions == ["policy_proposed", "policy_applied", "policy_restored"]
    applied = AuditEntry.objects.get(action="policy_applied")
    assert applied.actor == admin and applied.reason == "tighter on swearing"
    assert applied.detail["before"] == 0 and applied.detail["in_force"] == version.pk


def test_restore_steps_back_through_applied_versions(admin):
    one, two = propose(stricter_offensive(0.5)), propose(stricter_offensive(0.4))
    policy_versions.apply(admin, one)
    policy_versions.apply(admin, two)
    assert policy_versions.active_thresholds().version == two.pk
    assert policy_versions.restore_previous(admin) == one
    assert policy_versions.active_thresholds().version == one.pk
    one.refresh_from_db(), two.refresh_from_db()
    assert (one.status, two.status) == (PolicyStatus.ACTIVE, PolicyStatus.SUPERSEDED)
    assert policy_versions.restore_previous(admin) is None
    assert policy_versions.active_thresholds().version == 0
    with pytest.raises(ValidationError, match="version 0"):
        policy_versions.restore_previous(admin)
    # a superseded version can be applied again
    policy_versions.apply(admin, two)
    assert policy_versions.active_thresholds().version == two.pk


def test_only_admins_apply_and_refused_or_stale_versions_never(admin, moderator):
    version = propose(stricter_offensive(0.5))
    with pytest.raises(PermissionDenied):
        policy_versions.apply(moderator, version)
    with pytest.raises(PermissionDenied):
        policy_versions.restore_previous(moderator)
    refused = propose(stricter_offensive(0.5), refusal_reason="refused: violence recall on dev would fall")
    with pytest.raises(ValidationError, match="refused"):
        policy_versions.apply(admin, refused)
    stale = propose(stricter_offensive(0.5), model_versions={"textmodel": "0.9+old", "deep": None})
    with pytest.raises(ValidationError, match=r"calibrated for textmodel 0\.9"):
        policy_versions.apply(admin, stale)
    policy_versions.apply(admin, version)
    with pytest.raises(ValidationError, match="already in force"):
        policy_versions.apply(admin, version)
    assert PolicyVersion.objects.filter(status=PolicyStatus.ACTIVE).count() == 1


def test_a_version_for_other_models_is_not_used(admin):
    stale = propose(stricter_offensive(0.2), model_versions={"textmodel": "0.9+old", "deep": None})
    # as if it had been applied before the models were retrained
    PolicyVersion.objects.filter(pk=stale.pk).update(status=PolicyStatus.ACTIVE)
    assert policy_versions.active_thresholds() == policy_versions.shipped()
    active, in_force, why = policy_versions.in_force()
    assert active.pk == stale.pk and in_force.version == 0 and "0.9+old" in why


def test_the_pipeline_reads_the_policy_once_per_batch(alice, admin):
    policy_versions.apply(admin, propose(stricter_offensive(0.5)))
    reads = []
    for batch in range(2):
        posts = [Post.objects.create(author=alice, text=f"{BENIGN} {batch} number {i}") for i in range(20)]
        with CaptureQueriesContext(connection) as queries:
            assert pipeline.moderate([p.pk for p in posts]) == 20
        reads.append([q["sql"] for q in queries.captured_queries if "moderation_policyversion" in q["sql"]])
    # the active version's id every batch; its thresholds once per process, the first time
    assert [len(r) for r in reads] == [2, 1], reads


# Decisions as labelled data ------------------------------------------------------------------


def test_final_human_decisions_become_labels(alice, bob, carol, moderator, moderator2, publish, only_rules):
    approved = publish(alice, "a fine post about bread")
    removed = publish(alice, "a rude post")
    reversed_ = publish(bob, "a post removed by mistake")
    automatic = publish(bob, "nobody looked at this one")
    decided_twice = publish(carol, "approved first, then removed after a report")

    def reported(post, category: str, by=carol):
        return reports.report(by, post_id=post.pk, category=category).case

    cases.decide_case(moderator, reported(approved, "hate"), "approve")
    cases.decide_case(moderator, reported(removed, "offensive"), "remove", "rude")
    case = reports.report(carol, post_id=reversed_.pk, category="hate").case
    cases.decide_case(moderator, case, "remove", "hateful")
    appeal = appeals.appeal(bob, ModerationCase.objects.get(pk=case.pk), "it is not")
    appeals.decide_appeal(moderator2, appeal, True, "it is not")
    reports.report(carol, post_id=automatic.pk, category="spam")  # open, undecided
    cases.decide_case(moderator, reported(decided_twice, "hate", bob), "approve")
    cases.decide_case(moderator2, reported(decided_twice, "violence", alice), "remove", "a threat")
    pending = publish(bob, "removed, appeal not decided yet")
    case = reported(pending, "hate")
    cases.decide_case(moderator, case, "remove", "hateful")
    appeals.appeal(bob, ModerationCase.objects.get(pk=case.pk), "please look again")  # not final yet
    labels = {d.post_id: (d.label, d.origin) for d in human_decisions()}
    assert labels == {
        approved.pk: ("ok", "moderator"),
        removed.pk: ("offensive", "moderator"),
        reversed_.pk: ("ok", "appeal reversed"),  # the reversal wins over the removal
        decided_twice.pk: ("violence", "moderator"),  # the latest decision
    }
    assert [d.post_id for d in human_decisions(since=timezone.now() + timedelta(days=1))] == []


def test_appeals_on_automatic_removals_are_labels_and_edited_posts_are_not(
    alice, bob, moderator, moderator2, publish, rule
):
    rule("harbourgate", action="remove", category="hate")
    auto_removed = publish(alice, "the harbourgate crowd again")
    upheld = publish(bob, "harbourgate forever")
    assert auto_removed.moderation_state == ModerationState.REMOVED
    for post, reverse in ((auto_removed, True), (upheld, False)):
        case = ModerationCase.objects.get(post=post)
        appeal = appeals.appeal(post.author, case, "please look again")
        appeals.decide_appeal(moderator2, appeal, reverse, "ok")
    edited = publish(alice, "a post edited after the decision")
    cases.decide_case(moderator, reports.report(bob, post_id=edited.pk, category="hate").case, "approve")
    Post.objects.filter(pk=edited.pk).update(edited_at=timezone.now() + timedelta(seconds=5), text="changed")
    labels = {d.post_id: (d.label, d.origin) for d in human_decisions()}
    assert labels == {auto_removed.pk: ("ok", "appeal reversed"), upheld.pk: ("hate", "appeal upheld")}
