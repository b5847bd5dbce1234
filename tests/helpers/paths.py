"""Where the project and the shared fixtures are (../shared, or $POLIT_SHARED)."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("POLIT_SHARED", ROOT.parent / "shared")).resolve()
FIXTURES = SHARED / "fixtures"
RECORDING = FIXTURES / "pol-2023-03-27"
SAMPLES = FIXTURES / "api-samples"
