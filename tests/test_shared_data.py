"""tests/shared_data.py: the shared data is found next to the checkout, and a test that needs a
missing file says which one and where it was looked for."""

import os
from pathlib import Path

from tests import shared_data


def test_shared_data_sits_next_to_the_checkout():
    assert Path(__file__).resolve().parents[1] == shared_data.CHECKOUT
    expected = Path(os.environ.get("HOLDFAST_SHARED_DIR") or shared_data.CHECKOUT.parent / "shared")
    assert expected == shared_data.SHARED_DATA
    assert shared_data.MODERATION_DATA == shared_data.SHARED_DATA / "data" / "moderation"


def test_a_missing_file_is_named_in_the_skip_reason(tmp_path):
    present = tmp_path / "dev.csv"
    present.write_text("id,text,label\n")
    assert shared_data.missing_reason(present) is None
    reason = shared_data.missing_reason(present, tmp_path / "train.csv")
    assert reason is not None
    assert str(tmp_path / "train.csv") in reason and "../shared" in reason
    marker = shared_data.needs_shared(tmp_path / "train.csv")
    assert marker.args == (True,) and marker.kwargs["reason"] == reason
