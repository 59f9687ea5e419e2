"""Progress bars for long work: tqdm on stderr, hidden when stderr is not a terminal (CI logs)."""
from __future__ import annotations

import sys
from typing import Iterable


def progress(iterable: Iterable | None = None, **kwargs):
    """A tqdm bar; `disable=None` is tqdm's own "only on a terminal"."""
    from tqdm import tqdm      # here, not at the top: the import is a noticeable part of a stage's start-up
    kwargs.setdefault("file", sys.stderr)
    kwargs.setdefault("disable", None)
    kwargs.setdefault("dynamic_ncols", True)
    return tqdm(iterable, **kwargs)
