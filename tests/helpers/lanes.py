"""The test lanes. `make test` runs everything; `make test-fast` leaves out the tests marked
with one of LEFT_OUT (markers declared in pyproject.toml) and still has a test from every
module (tests/test_suite_layout.py checks both).

Some markers follow from a fixture, so a new test that takes it is in the right lane
without a decorator: conftest.py applies FIXTURE_MARKS at collection."""

from __future__ import annotations

import pytest

LEFT_OUT = ("slow", "browser", "mage", "bench")
FAST = " and ".join(f"not {m}" for m in LEFT_OUT)  # what `make test-fast` passes to -m

FIXTURE_MARKS = {
    "browser": "browser",  # headless Chromium (tests/test_dashboard.py)
    "dashboard": "browser",  # the Streamlit server the browser tests open
    "mage_bin": "mage",  # `.venv-mage/bin/mage run` of a pipeline
}

# Every item collected, before `-m` deselects any (conftest.py stores it), so the lane check
# sees the whole suite from inside the fast lane too.
COLLECTED = pytest.StashKey[list[pytest.Item]]()
