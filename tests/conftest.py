"""Shared test helpers: run a numbered script in-process, find the real third-party samples.

Run: .venv/bin/python -m pytest -q
"""
import os
import runpy
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "scripts"
# Real third-party samples live beside the project, not in it; a user's clone has none.
REALDATA = ROOT.parent / "shared" / "realdata"

os.environ.setdefault("OMP_NUM_THREADS", "1")


def run_script(name: str, *args, expect_exit: int | None = 0) -> int:
    """Run scripts/<name> as __main__ with argv, return its exit code."""
    argv = [str(SCRIPTS / name), *map(str, args)]
    old = sys.argv
    sys.argv = argv
    try:
        runpy.run_path(argv[0], run_name="__main__")
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    finally:
        sys.argv = old
    if expect_exit is not None:
        assert code == expect_exit, f"{name} exited {code}, expected {expect_exit}"
    return code


@pytest.fixture
def realdata():
    """The folder of real samples, or a skip when this clone has none."""
    if not REALDATA.is_dir():
        pytest.skip("../shared/realdata is absent (only the developers' machines have it)")
    return REALDATA
