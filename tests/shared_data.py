"""Where the tests find the project's shared data: ``../shared`` next to the checkout, the
same place for every engineer and for CI's fresh clone (``HOLDFAST_SHARED_DIR`` points
elsewhere). Tests that need a file from it skip, naming the missing path, where it is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHECKOUT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("HOLDFAST_SHARED_DIR") or CHECKOUT.parent / "shared")
MODERATION_DATA = SHARED_DATA / "data" / "moderation"


def missing_reason(*paths: Path) -> str | None:
    """Why a test needing ``paths`` cannot run here, or None when they all exist."""
    missing = [p for p in paths if not p.exists()]
    if not missing:
        return None
    return (
        f"shared data absent: {missing[0]} not found (the tests look for ../shared next to "
        "the checkout; HOLDFAST_SHARED_DIR points elsewhere)"
    )


def needs_shared(*paths: Path) -> pytest.MarkDecorator:
    """Skip the test, saying which shared file is missing, unless all ``paths`` exist."""
    reason = missing_reason(*paths)
    return pytest.mark.skipif(reason is not None, reason=reason or "")
