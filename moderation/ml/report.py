"""What a training run produced: files, thresholds and figures (rendered by ``card`` and
printed by ``train_classifier``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .evaluation import EvaluationReport, format_report
from .model import MODEL_NAME
from .policy import Thresholds


@dataclass
class TrainingReport:
    version: str
    out_dir: Path
    n_train: int
    n_dev: int
    thresholds: dict[str, Thresholds]
    dev: EvaluationReport | None = None
    dev_crossfit_policy: dict[str, float] | None = None
    tradeoff: list[dict[str, float]] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    # Second stage (moderation.ml.two_stage) figures, None when it was not trained.
    deep: dict | None = None
    hyper: dict = field(default_factory=dict)
    class_counts: dict = field(default_factory=dict)
    model_name: str = MODEL_NAME

    def summary(self) -> str:
        parts = [f"{MODEL_NAME} {self.version}: trained on {self.n_train} posts"]
        if self.dev is not None:
            parts.append(format_report(self.dev, "dev (thresholds tuned on dev)"))
        if self.dev_crossfit_policy is not None:
            p = self.dev_crossfit_policy
            parts.append(
                "dev 2-fold cross-fitted policy: auto-decided {:.3f}, error among auto {:.3f}, "
                "violence recall e2e {:.3f}, among auto-decided {:.3f}, removal precision {:.3f}".format(
                    p["share_auto"], p["auto_error"], p["violence_recall"],
                    p["violence_auto_recall"], p["removal_precision"]))
        if self.deep is not None:
            for key, what in (("in_sample", "in-sample"), ("crossfit", "2-fold cross-fitted")):
                m = self.deep[key]["all"]
                parts.append(
                    "with the second stage ({}): auto-decided {:.3f}, error among auto {:.3f}, violence "
                    "recall e2e {:.3f}, among auto-decided {:.3f}, ok removed {:.3f}".format(
                        what, m["share_auto"], m["auto_error"], m["violence_recall"],
                        m["violence_auto_recall"], m["ok_removed"]))
        return "\n".join(parts)
