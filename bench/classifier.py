"""Throughput benchmark for moderation.ml.model.score_texts.

Usage: python bench/classifier.py [--data ../shared/data/moderation/dev.csv] [--n 3000]
(the default is the shared data next to the checkout)

Prints artefact load time and memory, then posts/s for batches of 1, 10 and 100
(single process; includes normalisation and feature extraction).
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from moderation.ml.model import ARTEFACT_DIR, ARTEFACT_FILE, load_model, score_texts

# The shared data next to the checkout: ../shared
SHARED_MODERATION_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "moderation"


def _rss_mb() -> float:
    # current RSS from /proc (Linux); ru_maxrss (peak) as a fallback
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _texts(path: Path, n: int) -> list[str]:
    if path.is_file():
        with path.open(encoding="utf-8", newline="") as fh:
            texts = [row["text"] for row in csv.DictReader(fh)]
    else:
        print(f"{path} not found: using synthetic posts")
        texts = [f"post number {i} about the weather and the game tonight, see you there" for i in range(n)]
    return (texts * (n // max(len(texts), 1) + 1))[:n]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(SHARED_MODERATION_DATA / "dev.csv"))
    ap.add_argument("--n", type=int, default=3000, help="posts per measurement")
    args = ap.parse_args()
    texts = _texts(Path(args.data), args.n)

    rss0 = _rss_mb()
    t0 = time.perf_counter()
    model = load_model()
    load_s = time.perf_counter() - t0
    rss1 = _rss_mb()
    size = sum(p.stat().st_size for p in ARTEFACT_DIR.iterdir() if p.is_file())
    print(f"model {model.name} {model.version}")
    print(f"artefact: {ARTEFACT_FILE} {(ARTEFACT_DIR / ARTEFACT_FILE).stat().st_size / 2**20:.2f} MB "
          f"(artefact dir total {size / 2**20:.2f} MB)")
    print(f"load time {load_s * 1000:.0f} ms, RSS +{rss1 - rss0:.0f} MB (process RSS {rss1:.0f} MB)")

    score_texts(texts[:200])  # warm-up
    for batch in (1, 10, 100):
        n = min(len(texts), 1000 if batch == 1 else len(texts))
        t0, c0 = time.perf_counter(), time.process_time()
        for i in range(0, n, batch):
            score_texts(texts[i:i + batch])
        dt, cpu = time.perf_counter() - t0, time.process_time() - c0
        # posts per CPU-second is what one uncontended core would do; wall-clock posts/s
        # drops when other processes share the machine.
        print(f"batch {batch:>4}: {n / dt:>8,.0f} posts/s wall, {n / cpu:>8,.0f} posts/CPU-s  "
              f"({dt / (n / batch) * 1000:.2f} ms per batch)")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    # The machine may be shared: the load average says how much to trust the figures.
    one, five, fifteen = os.getloadavg()
    print(f"load average (1/5/15 min): {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
