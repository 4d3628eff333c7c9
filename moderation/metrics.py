"""Moderation figures for /metrics, read from the database at scrape time."""

from collections.abc import Iterator


def collect() -> Iterator:
    return iter(())
