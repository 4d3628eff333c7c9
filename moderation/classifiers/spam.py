"""Spam and flood heuristics: repeated text (one account or many), link-heavy posts
from new accounts, and posting rate. Scores the single category ``spam``."""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from datetime import timedelta

from django.conf import settings
from django.db.models import Count
from django.utils import timezone

from .base import Classifier, Item, Result
from .rules import link_domains

_NOISE_RE = re.compile(r"(?:https?://|www\.)\S+|@\w+|[^\w\s]")
_WS_RE = re.compile(r"\s+")


def fingerprint(normalised: str) -> str:
    """Near-duplicate key: case, links, mentions, punctuation and spacing ignored (digits
    kept: "match 1" and "match 2" are different posts)."""
    core = _WS_RE.sub(" ", _NOISE_RE.sub(" ", normalised)).strip()
    return hashlib.blake2b(core.encode(), digest_size=16).hexdigest() if len(core) >= 8 else ""


PRUNE_BATCH = 10_000


def prune_fingerprints(now=None) -> int:
    """Delete fingerprints older than the spam window: nothing reads them again, and one row
    per post would otherwise grow the table forever. Deleted in batches so no statement
    holds locks for long. Returns how many were deleted."""
    from moderation.models import TextFingerprint

    cutoff = (now or timezone.now()) - timedelta(seconds=settings.HOLDFAST_MODERATION_SPAM["window_seconds"])
    deleted = 0
    while True:
        batch = list(
            TextFingerprint.objects.filter(created_at__lt=cutoff).values_list("id", flat=True)[:PRUNE_BATCH]
        )
        if not batch:
            return deleted
        deleted += TextFingerprint.objects.filter(id__in=batch).delete()[0]


class SpamClassifier(Classifier):
    name = "spam"
    version = "1"
    categories = ("spam",)
    needs_database = True

    def classify(self, items: list[Item]) -> list[Result]:
        from microblog.posts.models import Post
        from moderation.models import TextFingerprint

        conf = settings.HOLDFAST_MODERATION_SPAM
        now = timezone.now()
        since = now - timedelta(seconds=conf["window_seconds"])
        digests = [fingerprint(item.normalised) for item in items]
        TextFingerprint.objects.bulk_create(
            [
                TextFingerprint(post_id=i.post_id, author_id=i.author_id, digest=d)
                for i, d in zip(items, digests, strict=True)
                if d and i.post_id
            ],
            ignore_conflicts=True,
        )
        wanted = {d for d in digests if d}
        same_author: Counter = Counter()
        accounts: Counter = Counter()
        if wanted:
            rows = (
                TextFingerprint.objects.filter(digest__in=wanted, created_at__gte=since)
                .values("digest", "author_id")
                .annotate(n=Count("id"))
            )
            for row in rows:
                same_author[(row["digest"], row["author_id"])] = row["n"]
                accounts[row["digest"]] += 1
        author_ids = {i.author_id for i in items if i.author_id}
        rate = (
            dict(
                Post.objects.filter(author_id__in=author_ids, created_at__gte=now - timedelta(minutes=1))
                .values_list("author_id")
                .annotate(n=Count("id"))
                .values_list("author_id", "n")
            )
            if author_ids
            else {}
        )
        results = []
        for item, digest in zip(items, digests, strict=True):
            score, why = 0.0, []
            if digest:
                n_same = same_author.get((digest, item.author_id), 0)
                if n_same >= conf["same_author_repeats"]:
                    score = max(score, 0.7)
                    why.append(f"same text {n_same} times from this account")
                n_accounts = accounts.get(digest, 0)
                if n_accounts >= conf["many_accounts"]:
                    score = max(score, 0.96)
                    why.append(f"same text from {n_accounts} accounts")
            links = len(link_domains(item.text))
            if (
                item.author_joined
                and links >= conf["new_account_links"]
                and (now - item.author_joined < timedelta(days=conf["new_account_days"]))
            ):
                score = max(score, 0.6)
                why.append(f"{links} links from an account under {conf['new_account_days']} days old")
            per_minute = rate.get(item.author_id, 0)
            if per_minute > conf["posts_per_minute"]:
                score = max(score, 0.6)
                why.append(f"{per_minute} posts in the last minute")
            results.append(Result(scores={"spam": score}, detail={"spam": why} if why else {}))
        return results
