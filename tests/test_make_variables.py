"""`make variables` lists every knob: each variable given a default (?=) in the Makefile or a profile file.

Run: .venv/bin/python -m pytest -q tests/test_make_variables.py
"""
import re
import shutil
import subprocess

import pytest

from conftest import ROOT

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="no make on this machine")
DEFAULT = re.compile(r"^([A-Z][A-Z0-9_]*) *\?=", re.M)


def _variables(*args) -> dict[str, str]:
    # -o: the venv stamp is never remade (`variables` runs no stage; a fresh checkout's mtimes may differ)
    out = subprocess.run(["make", "--no-print-directory", "-o", ".venv/.installed", "variables", *args],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return dict(line.split(" = ", 1) for line in out.splitlines())


@pytest.mark.parametrize("profile", ["sample", "paper"])
def test_every_knob_with_a_default_is_listed_with_its_resolved_value(profile):
    files = [ROOT / "Makefile", *sorted((ROOT / "scripts" / "profiles").glob("*.mk"))]
    knobs = {name for f in files for name in DEFAULT.findall(f.read_text())}
    got = _variables(f"PROFILE={profile}", "SE_STEM_QUOTA=7")
    assert set(got) == knobs
    assert {"ABLATION_CPU_OFFLOAD", "CKPT", "WH_USER_AGENT", "SEED"} <= set(got)
    assert got["PROFILE"] == profile and got["SE_STEM_QUOTA"] == "7"      # resolved, command line first
    assert got["MODEL"] == ("checkpoints/base" if profile == "sample" else "data/raw/llama-65b")
