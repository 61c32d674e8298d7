"""What the benchmark scripts share: the project on ``sys.path``, its folders, percentiles.

A script imports this module before the project (``from _common import ROOT``): run as
``.venv/bin/python benchmarks/X.py``, the script's own folder is on ``sys.path``, and this
module puts the project's root there too, so ``bot``, ``index`` and ``tests`` import.
The model is config.yaml's (multilingual-e5-small by default) unless a script says otherwise.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
"""The project's root (the folder of config.yaml)."""
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SHARED = ROOT.parent / "shared"
"""Data shared by every checkout: the evaluation sets under ``eval/``."""
FAQ = SHARED / "eval" / "swedish-faq-dev"
"""The Swedish FAQ dev set: ``knowledge/`` and ``questions.jsonl``."""
MODELS = ROOT / ".state" / "models"
"""Model folders and ONNX exports, shared with the tests (written once)."""


def percentile(values: Sequence[float], p: float) -> float:
    """Return the ``p``-th percentile (0-100) of ``values``, linearly interpolated.

    The same as ``numpy.percentile``'s default; NaN for no values.
    """
    ordered = sorted(values)
    if not ordered:
        return math.nan
    k = (len(ordered) - 1) * p / 100
    lo = math.floor(k)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)
