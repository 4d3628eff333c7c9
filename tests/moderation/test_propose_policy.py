"""``manage.py propose_policy``: a proposal from the community's decisions plus dev data, its
figures, the refusal of one that lowers violence recall on dev, and every bad input.

The dev sets here are small CSVs written by the tests (the shared data need not be present);
the community's posts are scored by the real first stage (``pipeline.moderate``), except in the
refusal scenario, whose scores are written as the pipeline stores them so that the trade the
calibration is tempted by is certain (named as such there)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from microblog.posts.models import ModerationState, Post
from moderation import pipeline, policy_versions
from moderation.learning.proposal import propose_scheduled
from moderation.ml.model import load_model
from moderation.models import AuditEntry, ClassifierScore, PolicyStatus, PolicyVersion
from moderation.services import cases, reports

pytestmark = pytest.mark.django_db

OK = [
    "Our team won the match today, great game",
    "Lovely weather in Leeds this morning",
    "Anyone know a good recipe for lentil soup?",
    "Shooting photos at the lake today",
    "The war documentary was moving",
    "We will fight for our rights at the council meeting",
    "My knife skills in the kitchen are improving",
    "I could murder a pizza right now",
    "That movie killed me, I died laughing",
    "Kill the lights please, the film is starting",
    "The bakery on the corner has the best bread",
    "Trains are late again this morning",
    "Finished my first half marathon today",
    "The library extended its opening hours",
    "Our cat learned to open the fridge",
    "New bike lanes opened downtown",
]
OFFENSIVE = ["shut up you stupid idiot", "this is fucking ridiculous", "you are a worthless piece of shit"]
VIOLENCE = [
    "they should all be shot",
    "someone should shoot them",
    "we will burn your house down",
    "they should be put against a wall",
    "he deserves a bullet",
    "I hope your car explodes with you in it",
    "I'm going to stab you tomorrow",
]


DEFAULT_DEV_ROWS = (
    [(f"{t}{s}", "ok") for t in OK for s in ("", "!", " :)")]
    + [(f"{t}{s}", "offensive") for t in OFFENSIVE for s in ("", "!")]
    + [(t, "violence") for t in VIOLENCE]
)


def write_dev(directory: Path, rows: list[tuple[str, str]] | None = None) -> Path:
    """A dev.csv: every OK / OFFENSIVE / VIOLENCE text a few times with small variations."""
    if rows is None:
        rows = DEFAULT_DEV_ROWS
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / "dev.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "text", "label", "source"])
        w.writerows([f"test:{i}", text, label, "testsource"] for i, (text, label) in enumerate(rows))
    return directory


def write_decisions(path: Path, rows: list[tuple[object, str]], header=("id", "text", "label")) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(
            [f"holdfast:{pid}" if isinstance(pid, int) else pid, "text", label] for pid, label in rows
        )
    return path


@pytest.fixture
def community(alice):
    """40 community posts through the real first stage; their true labels (for a decisions file)."""
    texts = [(f"{t} (community {i})", "ok") for i, t in enumerate(OK * 2)]
    texts += [(f"{t}, community", "offensive") for t in OFFENSIVE]
    texts += [(f"{t}, community", "violence") for t in VIOLENCE[:5]]
    posts = [Post.objects.create(author=alice, text=t) for t, _ in texts]
    pipeline.moderate([p.pk for p in posts])
    return [(p.pk, label) for p, (_, label) in zip(posts, texts, strict=True)]


def nothing_stored() -> bool:
    return not PolicyVersion.objects.exists() and not AuditEntry.objects.filter(target_type="policy").exists()


def test_proposal_from_a_decisions_file_with_figures_before_and_after(tmp_path, community, capsys):
    data = write_dev(tmp_path / "data")
    decisions = write_decisions(tmp_path / "decisions.csv", community)
    call_command("propose_policy", "--data", str(data), "--decisions", str(decisions), "--retrain-head")
    out = capsys.readouterr().out
    version = PolicyVersion.objects.get()
    assert version.status == PolicyStatus.PROPOSED, version.refusal_reason
    assert f"proposed as version {version.pk}" in out
    for figure in (
        "decided without a human",
        "violence recall",
        "removal precision",
        "ok posts removed",
        "error among auto-decided",
    ):
        assert figure in out
    f = version.figures
    assert f["stages"] == "first" and f["in_force_version"] == 0
    dev_rows = 3 * len(OK) + 2 * len(OFFENSIVE) + len(VIOLENCE)
    assert f["dev"]["before"]["n"] == f["dev"]["after"]["n"] == dev_rows
    assert f["dev"]["after_crossfit"]["n"] == dev_rows and "after, 2-fold" in out  # the honest estimate
    assert f["community"]["after"]["n"] == len(community)
    assert f["dev"]["after"]["violence_recall"] >= f["dev"]["before"]["violence_recall"]
    assert version.model_versions["textmodel"] == load_model().version
    assert version.data["community_rows"] == len(community)
    assert AuditEntry.objects.get(target_type="policy").action == "policy_proposed"
    head = f["retrained_head"]  # measured, stated as such, not applied
    assert head["dev_crossfit"]["n"] == dev_rows and "measured only, not applied" in head["what"]
    assert "retrained head (the text model's stacker refitted" in out
    assert version.proposed_by is None and version.proposed_by_label == "propose_policy command"


def test_proposal_from_the_moderators_decisions_in_the_database(
    tmp_path, alice, bob, moderator, publish, only_rules, capsys
):
    for i, text in enumerate(OK[:4]):
        post = publish(alice, text)
        cases.decide_case(moderator, reports.report(bob, post_id=post.pk, category="hate").case, "approve")
        assert post.pk and i >= 0
    post = publish(alice, VIOLENCE[0])
    cases.decide_case(
        moderator, reports.report(bob, post_id=post.pk, category="violence").case, "remove", "a threat"
    )
    spam = publish(alice, "buy cheap watches")
    cases.decide_case(moderator, reports.report(bob, post_id=spam.pk, category="spam").case, "remove", "spam")
    data = write_dev(tmp_path / "data")
    call_command("propose_policy", "--data", str(data), "--min-decisions", "5", "--since", "2020-01-01")
    out = capsys.readouterr().out
    assert "community: 5 decisions from moderators' decisions since 2020-01-01" in out
    assert "1 spam/other decisions left out" in out
    assert "5 community posts had no stored first-stage score" in out  # only_rules: scored now
    assert PolicyVersion.objects.get().data["community_rows"] == 5


def test_a_proposal_that_lowers_violence_recall_on_dev_is_refused(tmp_path, alice, capsys):
    """The community's decisions tempt the calibration to auto-allow 200 ok posts whose scores sit
    above the dev threats': allowed together, the dev threats would pass without a human. The
    scores are written as the pipeline stores them (``ClassifierScore`` rows of the shipped text
    model's version), not computed, so that this trade is certain."""
    version = load_model().version
    posts, labels = [], []
    for i in range(200):
        posts.append(
            Post(author=alice, text=f"an ordinary post {i}", moderation_state=ModerationState.ALLOWED)
        )
        labels.append("ok")
    # Enough community threats that auto-allowing the few dev threats below 0.30 still meets the
    # pooled violence-recall target the proposal is calibrated to (97 %): only the check
    # against the policy in force, on dev alone, refuses it.
    for i in range(400):
        posts.append(Post(author=alice, text=f"a clear threat {i}", moderation_state=ModerationState.REMOVED))
        labels.append("violence")
    Post.objects.bulk_create(posts)
    ClassifierScore.objects.bulk_create(
        ClassifierScore(
            post=p, classifier="textmodel", version=version, category=c, score=0.30 if label == "ok" else 0.99
        )
        for p, label in zip(posts, labels, strict=True)
        for c in ("violence", "hate", "offensive")
    )
    decisions = write_decisions(
        tmp_path / "d.csv", [(p.pk, label) for p, label in zip(posts, labels, strict=True)]
    )
    # A veiled threat the policy in force auto-allows: dev violence recall is below 1 before, so
    # the proposal is held at that recall (not at 1) and the pooled trade below is open to it.
    veiled = [("Lovely weather for a visit to your family tonight, see you soon", "violence")]
    data = write_dev(tmp_path / "data", DEFAULT_DEV_ROWS + veiled)
    with pytest.raises(CommandError) as err:
        call_command("propose_policy", "--data", str(data), "--decisions", str(decisions))
    message = str(err.value)
    assert message.startswith("refused: violence recall on dev would fall from ") and "\n" not in message
    refused = PolicyVersion.objects.get()
    assert refused.status == PolicyStatus.REFUSED and refused.refusal_reason in message
    assert (
        refused.figures["dev"]["after"]["violence_allowed"]
        > refused.figures["dev"]["before"]["violence_allowed"]
    )
    assert AuditEntry.objects.get(target_type="policy").action == "policy_refused"
    assert policy_versions.active_thresholds().version == 0


BAD_DECISIONS = [
    (
        "unknown",
        lambda ids: [(ids[0], "ok"), (999_999_999, "ok")],
        r"unknown post id\(s\) holdfast:999999999",
    ),
    (
        "duplicate",
        lambda ids: [(ids[0], "ok"), (ids[1], "hate"), (ids[0], "ok")],
        r":4: duplicate id holdfast:\d+ \(also on line 2\)",
    ),
    (
        "contradictory",
        lambda ids: [(ids[0], "ok"), (ids[0], "hate")],
        r":3: contradictory labels for holdfast:\d+: 'ok' on line 2, 'hate' here",
    ),
    ("label", lambda ids: [(ids[0], "nice")], r"unknown label 'nice'"),
    ("id", lambda ids: [("post 7", "ok")], r"'post 7' is not a post id"),
    (
        "too few",
        lambda ids: [(i, "ok") for i in ids[:10]],
        r"too few decisions to calibrate on: 10 usable .* \(need at least 30",
    ),
    ("only spam", lambda ids: [(i, "spam") for i in ids], r"too few decisions to calibrate on: 0 usable"),
    ("empty", lambda ids: [], r"no decisions in the file"),
]


@pytest.mark.parametrize(("case", "rows", "message"), BAD_DECISIONS, ids=[b[0] for b in BAD_DECISIONS])
def test_bad_decisions_answer_one_line_and_change_nothing(tmp_path, community, case, rows, message):
    data = write_dev(tmp_path / "data")
    decisions = write_decisions(tmp_path / "decisions.csv", rows([pid for pid, _ in community]))
    with pytest.raises(CommandError, match=message) as err:
        call_command("propose_policy", "--data", str(data), "--decisions", str(decisions))
    assert "\n" not in str(err.value)
    assert nothing_stored()


def test_other_bad_input_answers_one_line_and_changes_nothing(tmp_path, community):
    data = write_dev(tmp_path / "data")
    good = write_decisions(tmp_path / "decisions.csv", community)
    no_header = tmp_path / "no_header.csv"
    no_header.write_text("holdfast:1,ok\n", encoding="utf-8")
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes("id,label\nholdfast:1,ok\xe9\n".encode("latin-1"))
    no_violence = write_dev(tmp_path / "calm", [(t, "ok") for t in OK])
    cases = [
        (["--decisions", str(tmp_path / "missing.csv")], "decisions file not found"),
        (["--decisions", str(no_header)], "missing column(s) id, label"),
        (["--decisions", str(latin1)], "not UTF-8"),
        (["--decisions", str(good), "--data", str(tmp_path / "nowhere")], "data file not found"),
        (["--decisions", str(good), "--data", str(no_violence)], "no violence posts"),
        (["--decisions", str(good), "--since", "last week"], "--since must be a date"),
        (["--decisions", str(good), "--min-decisions", "0"], "--min-decisions must be at least 1"),
        (["--decisions", str(good), "--since", "2026-01-01"], "drop it when using --decisions"),
    ]
    for args, message in cases:
        if "--data" not in args:
            args = [*args, "--data", str(data)]
        with pytest.raises(CommandError) as err:
            call_command("propose_policy", *args)
        assert message in str(err.value) and "\n" not in str(err.value), (args, str(err.value))
    assert nothing_stored()


def test_the_beat_task_is_off_by_default_and_proposes_when_on(
    tmp_path, settings, alice, bob, moderator, publish, only_rules
):
    from moderation.tasks import propose_policy

    assert propose_policy.delay().get() == "off (HOLDFAST_MODERATION_PROPOSE_POLICY is false)"
    settings.HOLDFAST_MODERATION_PROPOSE_POLICY = True
    settings.HOLDFAST_MODERATION_POLICY_DATA = str(tmp_path / "nowhere")
    assert "too few decisions to calibrate on: 0 usable" in propose_policy.delay().get()
    for text in OK[:3]:
        post = publish(alice, text)
        cases.decide_case(moderator, reports.report(bob, post_id=post.pk, category="hate").case, "approve")
    settings.HOLDFAST_MODERATION_PROPOSE_POLICY_MIN_DECISIONS = 3
    assert propose_scheduled().startswith("no proposal: data file not found")
    assert nothing_stored()
    settings.HOLDFAST_MODERATION_POLICY_DATA = str(write_dev(tmp_path / "data"))
    outcome = propose_policy.delay().get()
    version = PolicyVersion.objects.get()
    assert outcome in (f"proposed as version {version.pk}", version.refusal_reason)
    assert version.proposed_by_label == "propose_policy beat task" and version.data["community_rows"] == 3


def test_beat_schedules_proposals_only_when_switched_on(monkeypatch):
    """``moderation.conf`` read again under other environments (the settings in force stay)."""
    import importlib

    from moderation import conf

    assert "moderation-propose-policy" not in conf.CELERY_BEAT_SCHEDULE
    try:
        monkeypatch.setenv("HOLDFAST_MODERATION_PROPOSE_POLICY", "true")
        monkeypatch.setenv("HOLDFAST_MODERATION_PROPOSE_POLICY_DAYS", "3")
        entry = importlib.reload(conf).CELERY_BEAT_SCHEDULE["moderation-propose-policy"]
        assert entry["task"] == "moderation.propose_policy" and entry["schedule"].days == 3
        assert entry["options"]["queue"] == "moderation"
        monkeypatch.setenv("HOLDFAST_MODERATION_DEEP", "true")  # where torch is
        entry = importlib.reload(conf).CELERY_BEAT_SCHEDULE["moderation-propose-policy"]
        assert entry["options"]["queue"] == "moderation_deep"
    finally:
        monkeypatch.undo()
        importlib.reload(conf)
