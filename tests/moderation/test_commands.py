"""Management commands: moderate_file (no database), train_classifier, export_decisions."""

import csv
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from moderation.services import cases, reports
from tests.shared_data import MODERATION_DATA, needs_shared

from .conftest import BENIGN, VIOLENT

ROOT = Path(__file__).resolve().parents[2]
DATA = MODERATION_DATA


def write_csv(path: Path, header: list[str], rows: list[list]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


@pytest.mark.django_db
def test_moderate_file_judges_texts_reading_the_database_once(
    tmp_path, capsys, settings, django_assert_max_num_queries
):
    # The enabled classifiers here need no database; the policy version in force is read once
    # for the whole file (not once per post). Without a database: the test below.
    settings.HOLDFAST_MODERATION_CLASSIFIERS = ["moderation.classifiers.textmodel.TextModelClassifier"]
    src = write_csv(tmp_path / "posts.csv", ["id", "text"], [["a1", BENIGN], ["a2", VIOLENT], ["a3", ""]])
    out = tmp_path / "verdicts.csv"
    with django_assert_max_num_queries(1):
        call_command("moderate_file", "--in", str(src), "--out", str(out))
    rows = list(csv.DictReader(out.open()))
    assert [r["id"] for r in rows] == ["a1", "a2", "a3"]
    assert {"violence", "hate", "offensive", "action"} <= set(rows[0])
    assert rows[0]["action"] == "allow" and rows[1]["action"] in ("review", "remove")
    assert "3 posts" in capsys.readouterr().out


def test_moderate_file_applies_the_moderators_rules_without_writing(tmp_path, capsys, rule):
    from moderation.models import AuditEntry, Rule

    rule("harbourgate", action="remove", category="hate")
    before = (AuditEntry.objects.count(), Rule.objects.count())
    src = write_csv(tmp_path / "posts.csv", ["id", "text"], [["b1", BENIGN], ["b2", "the Harbourgate crowd"]])
    out = tmp_path / "verdicts.csv"
    call_command("moderate_file", "--in", str(src), "--out", str(out))
    rows = {r["id"]: r for r in csv.DictReader(out.open())}
    assert rows["b1"]["action"] == "allow"
    assert (rows["b2"]["action"], rows["b2"]["category"]) == ("remove", "hate")
    assert (AuditEntry.objects.count(), Rule.objects.count()) == before
    assert "spam (it needs the authors' posting history)" in capsys.readouterr().err


def test_moderate_file_says_which_stages_ran(tmp_path, capsys, settings, db):
    from moderation.ml import deep

    settings.HOLDFAST_MODERATION_CLASSIFIERS = ["moderation.classifiers.textmodel.TextModelClassifier"]
    src = write_csv(tmp_path / "posts.csv", ["id", "text"], [["a1", BENIGN], ["a2", VIOLENT]])
    out = tmp_path / "verdicts.csv"
    call_command("moderate_file", "--in", str(src), "--out", str(out), "--stages", "first")
    printed = capsys.readouterr().out
    assert "stage 1 (first pass): textmodel@" in printed and "stage 2: off" in printed
    rows = list(csv.DictReader(out.open()))
    assert {r["stage"] for r in rows} == {"first"} and all(r["second_hate"] == "" for r in rows)
    if not (deep.available() and deep.head_exists()):
        pytest.skip("the 'deep' extra is not installed: the second stage cannot run here")
    call_command("moderate_file", "--in", str(src), "--out", str(out))  # default: what production runs
    printed = capsys.readouterr().out
    assert f"stage 2 (moderation_deep): deep@{deep.load_head().version}" in printed


@needs_shared(DATA / "dev.csv")
def test_moderate_file_second_stage_decides_what_the_first_held(tmp_path, settings, db):
    from moderation.ml import deep

    if not (deep.available() and deep.head_exists()):
        pytest.skip("the 'deep' extra is not installed: the second stage cannot run here")
    settings.HOLDFAST_MODERATION_CLASSIFIERS = ["moderation.classifiers.textmodel.TextModelClassifier"]
    with (DATA / "dev.csv").open(encoding="utf-8") as fh:
        rows = [[r["id"], r["text"]] for _, r in zip(range(300), csv.DictReader(fh), strict=False)]
    src = write_csv(tmp_path / "posts.csv", ["id", "text"], rows)
    both, first = tmp_path / "both.csv", tmp_path / "first.csv"
    call_command("moderate_file", "--in", str(src), "--out", str(both), "--stages", "first,second")
    call_command("moderate_file", "--in", str(src), "--out", str(first), "--stages", "first")
    both_rows, first_rows = list(csv.DictReader(both.open())), list(csv.DictReader(first.open()))
    decided = [r for r in both_rows if r["stage"] == "second"]
    assert decided, "the second stage decided none of 300 dev posts"
    assert all(r["second_hate"] != "" and r["action"] in ("allow", "remove") for r in decided)
    # with both stages on, fewer posts are left for humans than with the first stage alone
    humans = sum(r["action"] == "review" for r in both_rows)
    assert humans < sum(r["action"] == "review" for r in first_rows)


def test_moderate_file_bad_stages(tmp_path):
    src = write_csv(tmp_path / "posts.csv", ["id", "text"], [["a1", BENIGN]])
    for bad in ("second", "first,third", ""):
        with pytest.raises(CommandError, match="--stages takes 'first' or 'first,second'"):
            call_command("moderate_file", "--in", str(src), "--out", str(tmp_path / "o.csv"), "--stages", bad)


def test_moderate_file_bad_input(tmp_path):
    with pytest.raises(CommandError, match="not found"):
        call_command("moderate_file", "--in", str(tmp_path / "missing.csv"), "--out", str(tmp_path / "o.csv"))
    bad = write_csv(tmp_path / "bad.csv", ["ident", "body"], [["1", "x"]])
    with pytest.raises(CommandError, match="missing column"):
        call_command("moderate_file", "--in", str(bad), "--out", str(tmp_path / "o.csv"))


def test_moderate_file_with_database_unreachable(tmp_path):
    src = write_csv(tmp_path / "posts.csv", ["id", "text"], [["1", BENIGN]])
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": "postgres://nobody@127.0.0.1:9/nowhere",
        "CELERY_BROKER_URL": "",
    }
    done = subprocess.run(
        [sys.executable, "manage.py", "moderate_file", "--in", str(src), "--out", str(tmp_path / "v.csv")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "allow" in (tmp_path / "v.csv").read_text()
    assert "rules (the database is unreachable" in done.stderr and "Traceback" not in done.stderr
    missing = subprocess.run(
        [sys.executable, "manage.py", "moderate_file", "--in", "nope.csv", "--out", str(tmp_path / "v.csv")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert missing.returncode == 1
    assert [line for line in missing.stderr.splitlines() if "Error" in line] == [
        "CommandError: input file not found: nope.csv"
    ]


def test_train_classifier_wraps_training_with_progress(tmp_path, monkeypatch, capsys):
    """The command's wiring: paths, seed, progress callback, summary (training itself is
    tested in test_ml.py; a real run on the full data takes minutes)."""
    from moderation.ml import training

    calls = {}

    class Report:
        files = [tmp_path / "out" / "model.npz"]

        def summary(self):
            return "trained: summary line"

    def fake_train(train_csv, dev_csv, out_dir, seed=0, progress=None, deep=None, finetuned=None):
        calls.update(train=train_csv, dev=dev_csv, out=out_dir, seed=seed)
        calls.update(deep=deep, finetuned=finetuned)
        for i in range(3):
            progress("stage", i + 1, 3)
        return Report()

    monkeypatch.setattr(training, "train", fake_train)
    write_csv(tmp_path / "train.csv", ["text", "label"], [["hello", "ok"]])
    write_csv(tmp_path / "dev.csv", ["text", "label"], [["hello", "ok"]])
    call_command("train_classifier", "--data", str(tmp_path), "--out", str(tmp_path / "out"), "--seed", "3")
    assert calls == {
        "train": tmp_path / "train.csv",
        "dev": tmp_path / "dev.csv",
        "out": tmp_path / "out",
        "seed": 3,
        "deep": None,  # the second stage: trained when the extra is installed
        "finetuned": None,
    }
    assert "trained: summary line" in capsys.readouterr().out
    call_command("train_classifier", "--data", str(tmp_path), "--out", str(tmp_path / "out"), "--no-deep")
    assert calls["deep"] is False
    weights = write_csv(tmp_path / "w.safetensors", ["x"], [])
    call_command("train_classifier", "--data", str(tmp_path), "--out", str(tmp_path / "out"),
                 "--finetuned", str(weights))
    assert calls["finetuned"] == weights
    with pytest.raises(CommandError, match="fine-tuned weights not found"):
        call_command("train_classifier", "--data", str(tmp_path), "--finetuned", str(tmp_path / "nope"))
    with pytest.raises(CommandError, match="--no-deep skips"):
        call_command("train_classifier", "--data", str(tmp_path), "--finetuned", str(weights), "--no-deep")


@needs_shared(DATA / "train.csv", DATA / "dev.csv")
def test_train_classifier_real_small_sample(tmp_path):
    rng = random.Random(0)
    for name, n in (("train.csv", 120), ("dev.csv", 40)):
        with (DATA / name).open(encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        sample = []
        for label in ("violence", "hate", "offensive", "ok"):  # every class, or calibration has nothing to do
            sample += rng.sample([r for r in rows if r["label"] == label], n)
        write_csv(
            tmp_path / name,
            ["id", "text", "label", "source"],
            [[r["id"], r["text"], r["label"], r["source"]] for r in sample],
        )
    call_command("train_classifier", "--data", str(tmp_path), "--out", str(tmp_path / "a"))
    assert {"model.npz", "thresholds.json", "MODEL_CARD.md"} <= {p.name for p in (tmp_path / "a").iterdir()}
    from moderation.ml.deep import available

    # with the `deep` extra installed the command rebuilds the second stage too
    assert (tmp_path / "a" / "deep.npz").is_file() == available()


def test_train_classifier_bad_input(tmp_path):
    with pytest.raises(CommandError, match="not found"):
        call_command("train_classifier", "--data", str(tmp_path / "nowhere"))
    bad = write_csv(tmp_path / "train.csv", ["text", "label"], [["hello", "nonsense"]])
    with pytest.raises(CommandError, match="unknown label"):
        call_command("train_classifier", "--data", str(bad), "--out", str(tmp_path / "out"))


@pytest.mark.django_db
def test_export_decisions(tmp_path, alice, bob, moderator, publish, only_rules):
    p1, p2 = publish(alice, BENIGN), publish(alice, "something rude here")
    cases.decide_case(moderator, reports.report(bob, post_id=p1.pk, category="hate").case, "approve")
    cases.decide_case(
        moderator, reports.report(bob, post_id=p2.pk, category="offensive").case, "remove", "rude"
    )
    out = tmp_path / "d.csv"
    call_command("export_decisions", "--out", str(out))
    rows = {r["text"]: r["label"] for r in csv.DictReader(out.open())}
    assert rows == {BENIGN: "ok", "something rude here": "offensive"}
    with pytest.raises(CommandError, match="--since"):
        call_command("export_decisions", "--out", str(out), "--since", "yesterday")
