"""Learning from the community: a proposal from a synthetic community's decisions, before/after.

The shared dev split is cut in two by a hash of the id: half A stays "dev" (``--data`` of the
proposal), half B becomes the community. Half B's posts go through the real first stage
(``moderation.pipeline.moderate``, in-process, batches of 500) into a fresh PostgreSQL database;
"moderators" then decide every held case by the post's true label (approve ok posts, remove the
others as their label) and reverse on appeal every automatic removal of an ok post. Then
``manage.py propose_policy`` runs over that community and dev half A and prints its figures.

    python bench/learning.py [--data ../shared/data/moderation] [--community 4000] [--deep] [--retrain-head]

``--deep`` calibrates both stages (the second stage scores dev half A and the community's
decided posts with MiniLM: minutes on two cores; needs the ``deep`` extra).

Needs PostgreSQL at ``BENCH_PG`` (database ``holdfast_bench_learning``, dropped and recreated).
"""

import argparse
import csv
import hashlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
DB = os.environ.get("BENCH_DB", "holdfast_bench_learning")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "moderation"))
    ap.add_argument("--community", type=int, default=4000, help="community posts (from dev half B)")
    ap.add_argument("--deep", action="store_true", help="calibrate both stages (second stage on)")
    ap.add_argument("--retrain-head", action="store_true", help="also measure a refitted text-model head")
    ap.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--half-a", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.inner:
        return inner(args)
    dev = Path(args.data) / "dev.csv"
    if not dev.is_file():
        sys.exit(f"bench: {dev} not found")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "microblog.settings", "DATABASE_URL": f"{PG}/{DB}",
           "SECRET_KEY": "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
           "ALLOWED_HOSTS": "localhost", "CELERY_BROKER_URL": "", "LOG_LEVEL": "WARNING",
           "HOLDFAST_MODERATION_DEEP": "false"}
    subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", DB], check=True)
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", DB], check=True)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    with tempfile.TemporaryDirectory() as tmp:
        half_a = Path(tmp) / "dev.csv"
        rows = list(csv.DictReader(dev.open(encoding="utf-8", newline="")))
        a = [r for r in rows if _half(r["id"]) == 0]
        with half_a.open("w", encoding="utf-8", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(a)
        subprocess.run([sys.executable, __file__, "--inner", "--data", args.data, "--community",
                        str(args.community), "--half-a", tmp], cwd=ROOT, env=env, check=True)
        stages = [] if args.deep else ["--first-stage-only"]
        stages += ["--retrain-head"] if args.retrain_head else []
        started = time.monotonic()
        done = subprocess.run([sys.executable, "manage.py", "propose_policy", "--data", tmp, *stages],
                              cwd=ROOT, env={**env, "HOLDFAST_MODERATION_DEEP": str(args.deep).lower()},
                              capture_output=True, text=True)
        print(f"propose_policy took {time.monotonic() - started:.0f} s")
        print(done.stdout)
        print(done.stderr.strip().splitlines()[-1] if done.returncode else "", end="")


def _half(key: str) -> int:
    return hashlib.sha1(key.encode()).digest()[0] & 1  # noqa: S324 (a split, not security)


def inner(args) -> None:
    import random

    import django

    sys.path.insert(0, str(ROOT))
    django.setup()
    from django.contrib.auth.models import Group

    from microblog.accounts.models import User
    from microblog.posts.models import ModerationState, Post
    from moderation import pipeline
    from moderation.models import CaseStatus, ModerationCase, Outcome
    from moderation.services import appeals, cases

    rows = [r for r in csv.DictReader((Path(args.data) / "dev.csv").open(encoding="utf-8", newline=""))
            if _half(r["id"]) == 1]
    random.Random(0).shuffle(rows)
    rows = rows[: args.community]
    mods = []
    group, _ = Group.objects.get_or_create(name="moderator")
    for name in ("mod_a", "mod_b"):
        m = User.objects.create_user(username=name, password=None)
        m.groups.add(group)
        mods.append(m)
    authors = [User.objects.create_user(username=f"member{i}", password=None) for i in range(400)]
    label_of = {}
    posts = []
    for i, r in enumerate(rows):
        posts.append(Post(author=authors[i % len(authors)], text=r["text"][:500]))
    Post.objects.bulk_create(posts, batch_size=1000)
    for p, r in zip(posts, rows, strict=True):
        label_of[p.pk] = r["label"]
    ids = [p.pk for p in posts]
    for start in range(0, len(ids), 500):
        pipeline.moderate(ids[start : start + 500])
    held = removed = reversed_ = 0
    for case in ModerationCase.objects.filter(status=CaseStatus.OPEN, post__isnull=False).order_by("pk"):
        held += 1
        label = label_of[case.post_id]
        if label == "ok":
            cases.decide_case(mods[0], case, "approve")
        else:
            case.category = label
            case.save(update_fields=["category"])
            cases.decide_case(mods[0], case, "remove", f"{label} (bench)")
    for case in ModerationCase.objects.filter(outcome=Outcome.REMOVED, decided_by__isnull=True):
        if label_of[case.post_id] == "ok" and case.post.moderation_state == ModerationState.REMOVED:
            removed += 1
            try:
                appeal = appeals.appeal(case.post.author, case, "this was fine")
                appeals.decide_appeal(mods[1], appeal, True, "fine on a second look")
                reversed_ += 1
            except Exception as exc:  # an account case or closed window: count, go on
                print("appeal skipped:", exc)
    print(f"community: {len(ids)} posts, {held} held and decided by moderators, "
          f"{reversed_} automatic removals of ok posts reversed on appeal")


if __name__ == "__main__":
    main()
