"""Tests for the pure-Python moderation classifier core (no Django, no database)."""

from __future__ import annotations

import csv
import json
import math
import random
from pathlib import Path

import numpy as np
import pytest

from moderation.ml import CATEGORIES
from moderation.ml.evaluation import evaluate, format_report, prf
from moderation.ml.model import (
    ARTEFACT_DIR,
    MODEL_NAME,
    load_model,
    load_thresholds,
    model_version,
    moderate_texts,
    score_texts,
)
from moderation.ml.normalise import normalise
from moderation.ml.policy import (
    ALLOW,
    REMOVE,
    REVIEW,
    CalibrationTargets,
    Thresholds,
    calibrate,
    decide,
    decide_array,
    policy_metrics,
    thresholds_from_json,
)
from moderation.ml.training import DataError, read_dataset, train
from tests.shared_data import MODERATION_DATA, needs_shared

DEV_CSV = MODERATION_DATA / "dev.csv"


# --------------------------------------------------------------------------- normalise
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("I will KILL you", "i will kill you"),
        ("k\u200bi\u200cl\u200dl", "kill"),  # zero-width space / non-joiner / joiner
        ("\ufeffki\u2060ll\u00ad", "kill"),  # BOM, word joiner, soft hyphen
        ("\uff4b\uff49\uff4c\uff4c \uff54\uff48\uff45\uff4d", "kill them"),  # fullwidth
        ("k\u0456ll", "kill"),  # Cyrillic i
        ("\u041a\u0406LL", "kill"),  # Cyrillic capitals
        ("\u03ba\u03b9ll", "kill"),  # Greek kappa iota
        ("z\u0336a\u0337l\u0338g\u0339o\u035c", "zalgo"),  # combining marks
        ("shiiiiiit", "shiit"),
        ("noooooo!!!!!!", "noo!!"),
        ("k1ll", "kill"),
        ("h@te", "hate"),
        ("f4gg0t", "faggot"),
        ("sh!t", "shit"),
        ("a$$", "ass"),
        ("k1ll3d", "killed"),
        ("k i l l them", "kill them"),
        ("  lots \t of\n\nspace  ", "lots of space"),
        ("caf\u00e9", "cafe"),
        ("&amp; &lt;3", "& <3"),
        # emoji in place of words read as their names
        ("I will \U0001f52a you", "i will knife you"),
        ("\U0001f52b them all", "pistol them all"),
        ("burn them \U0001f525\U0001f525", "burn them fire fire"),
        ("\U0001f44d\U0001f3fd ok", "thumbs up ok"),  # the skin tone changes nothing
        ("\U0001f3f3\ufe0f\u200d\U0001f308 pride", "rainbow flag pride"),  # a ZWJ sequence
        ("k\u0456ll \U0001f52a", "kill knife"),  # emoji and homoglyphs together
    ],
)
def test_normalise_obfuscation(raw: str, expected: str) -> None:
    assert normalise(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("@User123 look at https://Example.com/a1b3?x=4", "@user123 look at https://example.com/a1b3?x=4"),
        ("covid19 in 2020 cost $100", "covid19 in 2020 cost $100"),
        ("hello! you", "hello! you"),
        ("mp3 4chan", "mp3 4chan"),
        ("", ""),
    ],
)
def test_normalise_keeps_legitimate_tokens(raw: str, expected: str) -> None:
    assert normalise(raw) == expected


def test_normalise_is_idempotent_on_examples() -> None:
    for raw in ["K1LL th3m ALL!!!", "\uff28\uff41\uff54\uff45", "b1tch3s @me http://x.y/1"]:
        once = normalise(raw)
        assert normalise(once) == once


# --------------------------------------------------------------------------- policy
THR = {
    "violence": Thresholds(0.2, 0.9),
    "hate": Thresholds(0.3, 0.8),
    "offensive": Thresholds(0.5, 0.7),
}


def _s(v: float = 0.0, h: float = 0.0, o: float = 0.0) -> dict[str, float]:
    return {"violence": v, "hate": h, "offensive": o}


@pytest.mark.parametrize(
    ("scores", "action", "category"),
    [
        (_s(), ALLOW, None),
        (_s(0.1999, 0.2999, 0.4999), ALLOW, None),
        (_s(v=0.2), REVIEW, "violence"),  # review boundary is inclusive
        (_s(h=0.3), REVIEW, "hate"),
        (_s(o=0.5), REVIEW, "offensive"),
        (_s(o=0.7), REMOVE, "offensive"),  # remove boundary is inclusive
        (_s(o=0.6999), REVIEW, "offensive"),
        (_s(v=0.9, h=0.95, o=0.99), REMOVE, "violence"),  # most severe removing category decides
        (_s(v=0.5, h=0.1, o=0.99), REMOVE, "offensive"),  # removal beats review
        (_s(v=0.5, h=0.4, o=0.1), REVIEW, "violence"),
    ],
)
def test_policy_decisions_at_boundaries(scores: dict[str, float], action: str, category: str | None) -> None:
    d = decide(scores, THR)
    assert (d.action, d.category) == (action, category)
    assert d.reason


def test_decision_lists_all_flags() -> None:
    d = decide(_s(v=0.5, h=0.85, o=0.9), THR)
    assert (d.action, d.category, d.flags) == (REMOVE, "hate", ("violence", "hate", "offensive"))


def test_decide_array_matches_decide() -> None:
    rng = np.random.default_rng(0)
    p = rng.random((500, 3))
    rv = np.array([THR[c].review_at for c in CATEGORIES])
    rm = np.array([THR[c].remove_at for c in CATEGORIES])
    codes = decide_array(p, rv, rm)
    names = {0: ALLOW, 1: REVIEW, 2: REMOVE}
    for row, code in zip(p, codes, strict=True):
        assert decide(dict(zip(CATEGORIES, row, strict=True)), THR).action == names[int(code)]


def test_thresholds_validate_order() -> None:
    with pytest.raises(ValueError):
        Thresholds(0.8, 0.5)


def test_policy_metrics_definitions() -> None:
    labels = np.array(["violence", "violence", "violence", "ok", "ok", "hate"])
    actions = np.array([2, 1, 0, 0, 2, 0])  # remove, review, allow, allow, remove, allow
    m = policy_metrics(actions, labels)
    assert m["share_auto"] == pytest.approx(5 / 6)
    assert m["violence_recall"] == pytest.approx(2 / 3)  # not auto-allowed
    assert m["violence_auto_recall"] == pytest.approx(1 / 2)  # removed / (removed + allowed)
    assert m["removal_precision"] == pytest.approx(1 / 2)
    assert m["auto_error"] == pytest.approx(3 / 5)  # allowed violence + allowed hate + removed ok


def test_calibrate_meets_targets_on_separable_scores() -> None:
    rng = np.random.default_rng(1)
    labels = np.array(["ok"] * 300 + ["offensive"] * 100 + ["hate"] * 50 + ["violence"] * 20)
    sev = np.array([{"ok": 0, "offensive": 1, "hate": 2, "violence": 3}[y] for y in labels])
    noise = rng.normal(0, 0.05, size=(len(labels), 3))
    p = np.clip(np.stack([sev >= 3, sev >= 2, sev >= 1], axis=1) * 0.8 + 0.1 + noise, 0, 1)
    targets = CalibrationTargets()
    thresholds, m = calibrate(p, labels, targets)
    assert m["violence_recall"] >= 0.9
    assert m["removal_precision"] >= 0.8
    assert m["auto_error"] <= targets.max_auto_error
    assert m["share_auto"] > 0.9
    assert all(t.review_at <= t.remove_at for t in thresholds.values())


# --------------------------------------------------------------------------- evaluation
def test_evaluation_on_hand_made_example() -> None:
    y = ["violence", "hate", "hate", "offensive", "ok", "ok"]
    yp = ["violence", "hate", "ok", "offensive", "ok", "hate"]
    r = evaluate(y, yp, sources=["a", "a", "b", "b", "a", "b"])
    assert r.per_class["violence"].f1 == pytest.approx(1.0)
    assert r.per_class["hate"].precision == pytest.approx(0.5)
    assert r.per_class["hate"].recall == pytest.approx(0.5)
    assert r.per_class["ok"].precision == pytest.approx(0.5)
    assert r.macro_f1 == pytest.approx((1 + 0.5 + 1 + 0.5) / 4)
    # flag: true flagged 4, predicted flagged 4, overlap 3
    assert r.flag.precision == pytest.approx(0.75) and r.flag.recall == pytest.approx(0.75)
    assert r.accuracy == pytest.approx(4 / 6)
    assert r.per_source["a"]["flag_f1"] == pytest.approx(1.0)
    assert "macro-F1" in format_report(r)
    json.dumps(r.to_dict())


def test_prf_handles_empty() -> None:
    s = prf(np.array([False, False]), np.array([False, False]))
    assert (s.precision, s.recall, s.f1, s.support) == (0.0, 0.0, 0.0, 0)


# --------------------------------------------------------------------------- committed artefact
def test_committed_artefact_loads_and_scores() -> None:
    model = load_model()
    assert load_model() is model  # cached
    assert model.name == MODEL_NAME and model_version() == model.version
    assert score_texts([]) == []
    texts = ["nice weather today", "I will kill you and your family", "", "\u200b"] * 25
    out = score_texts(texts)
    assert len(out) == 100
    for row in out:
        assert set(row) == set(CATEGORIES)
        assert all(0.0 <= v <= 1.0 and math.isfinite(v) for v in row.values())
        assert row["violence"] <= row["hate"] + 1e-9 <= row["offensive"] + 2e-9
    first_stage = ("model.npz", "thresholds.json")
    assert sum((ARTEFACT_DIR / f).stat().st_size for f in first_stage) <= 15 * 1024 * 1024


def test_threats_score_higher_on_violence_than_benign() -> None:
    threats = ["they should all be shot", "i will k1ll you", "hang them all from the lamp posts",
               "those people deserve to die", "kill all of them"]
    benign = ["what a lovely day for a walk", "the meeting is moved to tuesday",
              "i love my cat", "great game last night", "thanks for sharing the recipe"]
    t = [s["violence"] for s in score_texts(threats)]
    b = [s["violence"] for s in score_texts(benign)]
    assert min(t) > max(b)


def test_obfuscated_text_scores_like_plain_text() -> None:
    # fullwidth k, Cyrillic i, zero-width space, Cyrillic a, leetspeak, stretched letters
    obfuscated = "\uff4b\u0456ll th\u200bem \u0430ll, th3y d3serve it!!!!!!"
    plain, obf = score_texts(["kill them all, they deserve it!!", obfuscated])
    assert obf == pytest.approx(plain)


@pytest.mark.parametrize(
    ("plain", "with_emoji"),
    [
        ("i will knife you tonight", "i will \U0001f52a you tonight"),
        ("pistol them all", "\U0001f52b them all"),
        ("we should bomb them and burn them fire", "we should \U0001f4a3 them and burn them \U0001f525"),
    ],
)
def test_threats_written_with_emoji_score_like_plain_ones(plain: str, with_emoji: str) -> None:
    a, b = score_texts([plain, with_emoji])
    assert b == pytest.approx(a)


def test_moderate_texts_uses_committed_thresholds() -> None:
    out = moderate_texts(["have a nice day", "hang them all, they deserve to die"])
    assert out[0][1].action == ALLOW and out[0][1].flags == ()
    assert set(load_thresholds()) == set(CATEGORIES)
    for scores, d in out:
        assert d == decide(scores, load_thresholds())


def test_thresholds_file_is_consistent() -> None:
    data = json.loads((ARTEFACT_DIR / "thresholds.json").read_text())
    th = thresholds_from_json(data["thresholds"])
    assert set(th) == set(CATEGORIES)
    assert data["version"] == model_version()
    assert (ARTEFACT_DIR / "MODEL_CARD.md").read_text().count(model_version()) >= 1


@needs_shared(DEV_CSV)
def test_committed_model_meets_recorded_dev_figures() -> None:
    metrics = json.loads((ARTEFACT_DIR / "metrics.json").read_text())
    recorded = metrics["report"]
    ds = read_dataset(DEV_CSV)
    model = load_model()
    from moderation.ml.model import labels_from_probabilities
    from moderation.ml.normalise import normalise as n
    from moderation.ml.policy import removal_category_array, thresholds_arrays

    p = model.probabilities([n(t) for t in ds.texts])
    rv, rm = thresholds_arrays(thresholds_from_json(
        json.loads((ARTEFACT_DIR / "thresholds.json").read_text())["thresholds"]))
    r = evaluate(ds.labels, labels_from_probabilities(p, model.label_thresholds), ds.sources,
                 decide_array(p, rv, rm), removal_category_array(p, rm))
    assert r.macro_f1 == pytest.approx(recorded["macro_f1"], abs=0.005)
    assert r.flag.f1 == pytest.approx(recorded["flag"]["f1"], abs=0.005)
    assert r.policy is not None
    for key in ("share_auto", "violence_recall", "removal_precision", "auto_error"):
        assert r.policy[key] == pytest.approx(recorded["policy"][key], abs=0.005), key
    assert r.policy["violence_recall"] >= 0.9
    assert r.policy["removal_precision"] >= 0.8


# --------------------------------------------------------------------------- training
def _synthetic_csv(path: Path, n: int, seed: int) -> None:
    rng = random.Random(seed)
    vocab = {
        "violence": ["kill them", "shoot him", "hang them all", "they deserve to die"],
        "hate": ["vermin people", "subhuman group", "those animals ruin everything"],
        "offensive": ["you stupid idiot", "shut up moron", "what a dumb jerk"],
        "ok": ["nice weather", "good morning friends", "lunch was great", "see you tomorrow"],
    }
    filler = ["today", "really", "again", "now", "folks", "honestly", "lol"]
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "text", "label", "source", "orig_label"])
        for i in range(n):
            label = rng.choices(list(vocab), weights=[1, 2, 3, 6])[0]
            text = f"{rng.choice(vocab[label])} {rng.choice(filler)} {rng.choice(filler)}"
            w.writerow([f"syn:{i}", text, label, rng.choice(["s1", "s2"]), ""])


def test_training_is_deterministic(tmp_path: Path) -> None:
    tr, dv = tmp_path / "train.csv", tmp_path / "dev.csv"
    _synthetic_csv(tr, 300, 1)
    _synthetic_csv(dv, 200, 2)
    stages: list[str] = []
    # 2 folds and no trade-off table: same code path, a fraction of the fits
    r1 = train(tr, dv, tmp_path / "a", seed=3, progress=lambda s, d, t: stages.append(s),
               n_folds=2, tradeoff=False, deep=False)
    r2 = train(tr, dv, tmp_path / "b", seed=3, n_folds=2, tradeoff=False, deep=False)
    assert stages and r1.version == r2.version
    assert r1.dev is not None and r2.dev is not None
    assert r1.dev.to_dict() == r2.dev.to_dict()
    assert r1.thresholds == r2.thresholds
    m1 = json.loads((tmp_path / "a" / "metrics.json").read_text())
    m2 = json.loads((tmp_path / "b" / "metrics.json").read_text())
    assert m1 == m2
    assert r1.dev.macro_f1 > 0.9  # the synthetic task is easy
    for f in ("model.npz", "thresholds.json", "metrics.json", "MODEL_CARD.md"):
        assert (tmp_path / "a" / f).is_file()
    # the freshly written artefact is loadable and scores
    m = load_model(tmp_path / "a" / "model.npz")
    assert len(score_texts(["kill them now"], model=m)) == 1


def test_training_rejects_bad_csv(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(DataError, match="header"):
        read_dataset(bad)
    with pytest.raises(DataError, match="not found"):
        read_dataset(tmp_path / "missing.csv")
    bad.write_text("text,label\nhello,spam\n")
    with pytest.raises(DataError, match="unknown label"):
        read_dataset(bad)
